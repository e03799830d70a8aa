"""A backup holds every record, record version and media file, and restores them into an empty
database (a fresh SQLite file, or a fresh PostgreSQL database) and an empty media folder."""

import hashlib
import io
import json
from datetime import date, timedelta
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.db import connection, connections
from django.db.utils import load_backend

from bases.models import AttendanceImport
from evaluation_export.models import BatchKind, ExportBatch
from portal.backup import BackupError, backup_create, backup_restore
from portal.models import Role
from students.models import PracticeRecord, PracticeRecordVersion
from students.services import practice_record_correct
from tests.factories import BaseFactory, StudentFactory, UserFactory
from tests.students.progress_helpers import add_record

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

RESTORED = "restored"


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def empty_database(tmp_path):
    """A second connection to an empty database: a new SQLite file or a new PostgreSQL one."""
    default = connections.settings["default"]
    if connection.vendor == "postgresql":
        name = f"{default['NAME']}_restore"
        with connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            cursor.execute(f'CREATE DATABASE "{name}"')
    else:
        name = str(tmp_path / "restored.sqlite3")
    # A connection made here and not listed in the settings: Django's test case allows such
    # connections, and `.using(RESTORED)` finds it.
    backend = load_backend(default["ENGINE"])
    connections[RESTORED] = backend.DatabaseWrapper({**default, "NAME": name}, RESTORED)
    yield RESTORED
    connections[RESTORED].close()
    del connections[RESTORED]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def fill() -> dict[str, str]:
    """Students with corrected records (three versions each) and two files; their checksums."""
    admin = UserFactory(role=Role.SCHOOL_ADMIN)
    for n in range(3):
        student = StudentFactory(name=f"学生{n}")
        for day in (date(2025, 10, 10), date(2025, 11, 8)):
            record = add_record(student, day=day, minutes=120)
            for minutes in (90, 60):
                record = practice_record_correct(
                    record=record,
                    started_at=record.started_at,
                    ended_at=record.started_at + timedelta(minutes=minutes),
                    credited_minutes=minutes,
                    changed_by=admin,
                    reason=f"签退时间更正为 {minutes} 分钟",
                )
    batch = ExportBatch.objects.create(period="2025-W45", kind=BatchKind.FULL)
    batch.file.save("batch-2025-W45.csv", ContentFile("学籍号,学时\nG310101,3\n".encode()))
    sheet = AttendanceImport.objects.create(
        base=BaseFactory(), original_name="考勤.xlsx", sha256="0" * 64, status="previewed"
    )
    sheet.file.save("roster.xlsx", ContentFile(b"PK\x03\x04 a workbook"))
    return {
        batch.file.name: sha256(Path(batch.file.path)),
        sheet.file.name: sha256(Path(sheet.file.path)),
    }


def test_a_restore_finds_every_record_version_and_file(media, empty_database, tmp_path):
    files = fill()
    versions = list(PracticeRecordVersion.objects.values_list("record_id", "version", "reason"))
    assert PracticeRecord.objects.count() == 6 and len(versions) >= 12
    output = tmp_path / "backup"

    manifest = backup_create(output=output)
    assert manifest["vendor"] == connection.vendor
    assert manifest["tables"][PracticeRecordVersion._meta.db_table] == len(versions)
    assert "students" in manifest["migrations"]
    assert {f"media/{name}": sha for name, sha in files.items()}.items() <= manifest[
        "files"
    ].items()

    restored_media = tmp_path / "restored-media"
    result = backup_restore(source=output, database=empty_database, media_root=restored_media)

    assert result.media_files == len(files)
    assert PracticeRecord.objects.using(empty_database).count() == 6
    assert sorted(
        PracticeRecordVersion.objects.using(empty_database).values_list(
            "record_id", "version", "reason"
        )
    ) == sorted(versions)
    assert ExportBatch.objects.using(empty_database).get().file.name in files
    for name, checksum in files.items():
        assert sha256(restored_media / name) == checksum
    # The restored database carries on numbering where the old one stopped.
    again = PracticeRecord.objects.using(empty_database).order_by("-pk").first()
    assert again.pk == PracticeRecord.objects.order_by("-pk").first().pk


def test_a_restore_refuses_a_database_that_is_not_empty(media, tmp_path):
    fill()
    backup_create(output=tmp_path / "backup")
    with pytest.raises(BackupError) as error:
        backup_restore(source=tmp_path / "backup", media_root=tmp_path / "other-media")
    assert error.value.code == "database_not_empty"


def test_a_damaged_backup_is_refused_before_anything_is_restored(media, empty_database, tmp_path):
    files = fill()
    output = tmp_path / "backup"
    call_command("portal_backup", "--output", str(output), stdout=io.StringIO())
    (output / "media" / next(iter(files))).write_bytes(b"changed")
    with pytest.raises(BackupError) as error:
        backup_restore(source=output, database=empty_database, media_root=tmp_path / "m")
    assert error.value.code == "checksum_mismatch"
    with connections[empty_database].cursor() as cursor:
        assert connections[empty_database].introspection.table_names(cursor) == []
    assert not (tmp_path / "m").exists()


def test_a_backup_with_unknown_migrations_is_refused(media, empty_database, tmp_path):
    output = tmp_path / "backup"
    backup_create(output=output)
    manifest = json.loads((output / "manifest.json").read_text())
    manifest["migrations"]["students"].append("9999_from_a_newer_portal")
    (output / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BackupError) as error:
        backup_restore(source=output, database=empty_database, media_root=tmp_path / "m")
    assert error.value.code == "migrations_unknown"
