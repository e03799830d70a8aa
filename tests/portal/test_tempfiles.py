"""Temporary files stay in the portal's own folder (0700, files 0600) and leave nothing behind."""

import os
import tempfile
import time
from pathlib import Path

import pytest
from django.core.files.uploadedfile import TemporaryUploadedFile

from portal import tasks
from portal.spreadsheets import write_xlsx_to
from portal.tempfiles import portal_tmp_dir


@pytest.fixture
def tmp_folder(settings, tmp_path):
    settings.PORTAL_TMP_DIR = tmp_path / "var" / "tmp"
    settings.FILE_UPLOAD_TEMP_DIR = str(settings.PORTAL_TMP_DIR)
    return Path(settings.PORTAL_TMP_DIR)


def _system_openpyxl_files() -> set[str]:
    return {name for name in os.listdir(tempfile.gettempdir()) if name.startswith("openpyxl.")}


def test_the_folder_is_made_for_the_portal_user_alone(tmp_folder):
    assert portal_tmp_dir() == tmp_folder
    assert tmp_folder.stat().st_mode & 0o777 == 0o700
    tmp_folder.chmod(0o755)
    portal_tmp_dir()
    assert tmp_folder.stat().st_mode & 0o777 == 0o700, "a loosened folder is tightened again"


def test_an_upload_is_received_into_the_portal_folder_readable_by_the_portal_alone(
    tmp_folder, settings
):
    assert (settings.FILE_UPLOAD_PERMISSIONS, settings.FILE_UPLOAD_DIRECTORY_PERMISSIONS) == (
        0o600,
        0o700,
    )
    portal_tmp_dir()
    upload = TemporaryUploadedFile("名单.xlsx", "application/octet-stream", 10, None)
    path = Path(upload.temporary_file_path())
    assert path.parent == tmp_folder
    assert path.stat().st_mode & 0o777 == 0o600
    upload.close()
    assert not path.exists()


def test_a_spreadsheet_that_fails_midway_leaves_no_temporary_file(tmp_folder, tmp_path):
    before = _system_openpyxl_files()

    def rows():
        yield ["20260001", "张三"]
        raise OSError("No space left on device")

    target = tmp_path / "out.xlsx"
    with pytest.raises(OSError):
        write_xlsx_to(str(target), rows(), ["学籍号", "姓名"], "records")
    assert list(tmp_folder.iterdir()) == []
    assert _system_openpyxl_files() == before


def test_a_spreadsheet_is_written_through_the_portal_folder_and_leaves_nothing(
    tmp_folder, tmp_path
):
    before = _system_openpyxl_files()
    target = tmp_path / "out.xlsx"
    assert write_xlsx_to(str(target), [["20260001", "张三"]] * 5, ["学籍号", "姓名"], "r") == 5
    assert target.stat().st_size > 0
    assert list(tmp_folder.iterdir()) == []
    assert _system_openpyxl_files() == before


def test_the_sweep_removes_an_old_leftover_and_keeps_a_fresh_one(tmp_folder, settings):
    settings.PORTAL_TMP_MAX_AGE_SECONDS = 3600
    portal_tmp_dir()
    old = tmp_folder / "openpyxl.crashed.xml"
    old.write_text("学籍号")
    two_hours_ago = time.time() - 7200
    os.utime(old, (two_hours_ago, two_hours_ago))
    fresh = tmp_folder / "tmpupload.upload.xlsx"
    fresh.write_text("still being received")
    assert tasks.portal_tmp_sweep.run() == 1
    assert not old.exists()
    assert fresh.exists()
