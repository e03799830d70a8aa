"""Every admin sheet import goes through the guarded reader: a zip bomb, a sheet of 300,000 rows,
an image renamed .xlsx or an oversized upload is refused at once with one clear message, no
traceback or server path on the page, and nothing written."""

import io
import tempfile
import time
import zipfile
from pathlib import Path
from unittest import mock

import pytest
from django.conf import settings
from django.contrib import admin
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import HttpRequest
from django.urls import reverse
from openpyxl import Workbook

from bases.models import Base
from districts.models import District
from portal.admin import SheetImportExportAdmin
from portal.sheet_imports import GuardedCSV, GuardedXLSX
from portal.uploads import DEFAULT_LIMITS
from students.models import School, SchoolClass, Student
from tests.factories import SchoolClassFactory, SchoolFactory, UserFactory

pytestmark = pytest.mark.django_db

XLSX, CSV = "0", "1"  # positions in SheetImportExportAdmin.import_formats
STUDENT_HEADERS = ["student_number", "name", "school_code", "entry_year", "class_number"]
SHEET = "xl/worksheets/sheet1.xml"
#: What must never reach the page: exception names, tracebacks, the server's paths.
LEAKS = ("Traceback", "BadZipFile", "encountered while trying", str(Path(settings.BASE_DIR)))
LEAKS += ("site-packages", 'File "/')
#: A loose bound, for a loaded machine; refusals measured on an idle one take well under 1 s.
QUICK = 5.0


@pytest.fixture
def staff_client(client):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def admin_url(model, view):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}")


def upload(client, model, name, content, fmt):
    started = time.perf_counter()
    response = client.post(
        admin_url(model, "import"),
        {"resource": "0", "format": fmt, "import_file": SimpleUploadedFile(name, content)},
    )
    return response, time.perf_counter() - started


def assert_refused(response, message):
    page = response.content.decode()
    assert message in page
    for leak in LEAKS:
        assert leak not in page
    assert "confirm_form" not in response.context
    assert admin_url(Student, "process_import") not in page


def small_workbook(headers=STUDENT_HEADERS) -> bytes:
    workbook = Workbook()
    workbook.active.append(headers)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def with_sheet(write_sheet) -> bytes:
    """A real workbook whose first sheet's XML is written, streamed, by `write_sheet(file)`."""
    source = zipfile.ZipFile(io.BytesIO(small_workbook()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as target:
        for item in source.infolist():
            if item.filename != SHEET:
                target.writestr(item, source.read(item))
        with target.open(SHEET, "w", force_zip64=True) as sheet:
            write_sheet(sheet)
    return out.getvalue()


@pytest.fixture(scope="module")
def zip_bomb() -> bytes:
    """An xlsx of about 5 MB whose sheet XML inflates to 1.1 GiB, never held in memory whole."""

    def write(sheet):
        sheet.write(b'<?xml version="1.0"?>')
        padding = b" " * (1 << 20)
        for _ in range(1100):
            sheet.write(padding)

    return with_sheet(write)


def rows_xlsx(count: int) -> bytes:
    """An xlsx of `count` data rows under a student_number header, its XML written directly
    (openpyxl's write-only mode takes several seconds for as many rows)."""
    ns = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"

    def write(sheet):
        sheet.write(f'<?xml version="1.0"?><worksheet xmlns="{ns}"><sheetData>'.encode())
        sheet.write(b'<row r="1"><c r="A1" t="inlineStr"><is><t>student_number</t></is></c></row>')
        rows = (
            f'<row r="{n}"><c r="A{n}" t="inlineStr"><is><t>G{n:012d}</t></is></c></row>'
            for n in range(2, count + 2)
        )
        sheet.write("".join(rows).encode())
        sheet.write(b"</sheetData></worksheet>")

    return with_sheet(write)


def rows_csv(count: int) -> bytes:
    return ("student_number\n" + "".join(f"G{n:012d}\n" for n in range(count))).encode()


@pytest.fixture
def class_0123():
    return SchoolClassFactory(school=SchoolFactory(code="0123"), entry_year=2025, number=1)


class TestRefusedAtOnce:
    def test_a_zip_bomb_is_refused_from_the_zip_directory(self, staff_client, zip_bomb):
        assert len(zip_bomb) < DEFAULT_LIMITS.max_bytes
        before = Student.objects.count()

        response, seconds = upload(staff_client, Student, "students.xlsx", zip_bomb, XLSX)

        assert response.status_code == 200
        assert_refused(response, "Unpacked, the workbook would take 1100 MB; at most 50 MB")
        assert seconds < QUICK
        assert Student.objects.count() == before

    @pytest.mark.parametrize("kind", ["csv", "xlsx"])
    def test_a_sheet_of_300000_rows_is_refused_at_the_row_cap(self, staff_client, kind):
        content = rows_csv(300_000) if kind == "csv" else rows_xlsx(300_000)
        assert len(content) < DEFAULT_LIMITS.max_bytes

        response, seconds = upload(
            staff_client, Student, f"students.{kind}", content, CSV if kind == "csv" else XLSX
        )

        assert_refused(response, "The sheet has more than 20,000 rows of data")
        assert seconds < QUICK
        assert Student.objects.count() == 0

    @pytest.mark.parametrize(
        "model", [Student, School, SchoolClass, District, Base], ids=lambda m: m.__name__
    )
    def test_a_png_renamed_xlsx_is_refused_by_its_content(self, staff_client, model):
        before = model.objects.count()
        png = b"\x89PNG\r\n\x1a\n" + b"\0" * 4096

        response, seconds = upload(staff_client, model, "sheet.xlsx", png, XLSX)

        assert response.status_code == 200
        assert_refused(response, "This file is a PNG image, not a spreadsheet.")
        assert seconds < QUICK
        assert model.objects.count() == before

    def test_a_refused_file_leaves_no_temporary_copy(self, staff_client, monkeypatch, tmp_path):
        monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
        png = b"\x89PNG\r\n\x1a\n" + b"\0" * 4096

        response, _ = upload(staff_client, Student, "sheet.xlsx", png, XLSX)

        assert_refused(response, "not a spreadsheet")
        assert list(tmp_path.iterdir()) == []

    def test_a_damaged_workbook_names_no_exception(self, staff_client):
        response, _ = upload(staff_client, Student, "s.xlsx", small_workbook()[:300], XLSX)

        assert_refused(response, "The file is damaged or is not an Excel workbook.")

    def test_a_workbook_chosen_as_csv_is_still_read_as_a_workbook(self, staff_client, class_0123):
        response, _ = upload(staff_client, Student, "s.csv", rows_xlsx(2), CSV)

        assert "confirm_form" not in response.context  # read: the rows lack their columns
        assert_refused(response, "The sheet lacks these columns: name, school_code")


class TestSize:
    def test_an_upload_announcing_more_than_10_mb_is_refused_before_its_body_is_read(
        self, staff_client
    ):
        content = b"x" * (DEFAULT_LIMITS.max_bytes + 100 * 1024)
        with mock.patch.object(
            HttpRequest, "_load_post_and_files", side_effect=AssertionError("body read")
        ):
            response = staff_client.post(
                admin_url(Student, "import"),
                {"resource": "0", "format": CSV, "import_file": io.BytesIO(content)},
            )

        assert response.status_code == 413
        assert "at most 10 MB are accepted" in response.content.decode()
        assert Student.objects.count() == 0

    def test_a_file_part_over_10_mb_is_dropped_while_streaming(self, staff_client):
        big = io.BytesIO(b"x" * (DEFAULT_LIMITS.max_bytes + 1))
        big.name = "students.csv"
        # Announce a small body, as a client may, so that only the streaming bound applies.
        with mock.patch("portal.sheet_imports.MULTIPART_ALLOWANCE", 10**9):
            response = staff_client.post(
                admin_url(Student, "import"), {"resource": "0", "format": CSV, "import_file": big}
            )

        assert response.status_code == 413
        assert_refused(response, "at most 10 MB are accepted")
        assert Student.objects.count() == 0


class TestWholeFileErrors:
    def test_a_sheet_without_its_columns_shows_one_message_and_no_traceback(
        self, staff_client, class_0123
    ):
        content = ("student_number,name\nG310101200901011234,张三\n").encode()

        response, _ = upload(staff_client, Student, "students.csv", content, CSV)

        assert response.status_code == 200
        assert_refused(response, "The sheet lacks these columns: school_code, entry_year")
        assert "result" not in response.context or response.context["result"] is None
        assert Student.objects.count() == 0

    def test_a_chinese_page_shows_the_refusal_in_chinese(self, staff_client):
        staff_client.defaults["HTTP_ACCEPT_LANGUAGE"] = "zh-hans"
        png = b"\x89PNG\r\n\x1a\n" + b"\0" * 64

        response, _ = upload(staff_client, Student, "sheet.xlsx", png, XLSX)

        page = response.content.decode()
        assert "PNG" in page and "This file is" not in page
        for leak in LEAKS:
            assert leak not in page


def test_every_sheet_admin_reads_through_the_guarded_reader():
    sheet_admins = [
        a for a in admin.site._registry.values() if isinstance(a, SheetImportExportAdmin)
    ]
    assert len(sheet_admins) >= 5
    for model_admin in sheet_admins:
        assert model_admin.get_import_formats() == [GuardedXLSX, GuardedCSV]


def test_a_good_sheet_still_imports(staff_client, class_0123):
    content = (",".join(STUDENT_HEADERS) + "\nG310101200901011234,张三,0123,2025,1\n").encode(
        "gb18030"
    )

    preview, _ = upload(staff_client, Student, "students.csv", content, CSV)
    done = staff_client.post(
        admin_url(Student, "process_import"), preview.context["confirm_form"].initial
    )

    assert done.status_code == 302
    assert list(Student.objects.values_list("name", flat=True)) == ["张三"]
