"""A base's attendance sheet: template, safe reading, dry run by row and column, all or nothing,
and the same file twice adding nothing. Every limit is tested with a real crafted file."""

import csv
import io
import zipfile
from datetime import timedelta
from unittest import mock

import openpyxl
import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone, translation
from openpyxl import Workbook
from openpyxl.reader.excel import ExcelReader

from bases.attendance_import import (
    MAX_DATA_ROWS,
    MAX_UPLOAD_BYTES,
    ImportRefused,
    attendance_import_confirm,
    attendance_import_preview,
    read_sheet,
    row_nonce,
    staging,
    template_xlsx,
)
from bases.models import (
    ApplicationStatus,
    Attendance,
    AttendanceImport,
    AttendanceScan,
    ImportStatus,
    Session,
)
from bases.services.attendance import Scan, attendance_scan_record, session_attendance_close
from portal import uploads
from portal.messages import message_text
from portal.models import AuditLog
from students.models import PracticeRecord, RecordedVia, RecordStatus
from students.services import RecordFacts, practice_record_upsert
from tests.factories import (
    ApplicationFactory,
    BaseFactory,
    CoordinatorFactory,
    PostFactory,
    SessionFactory,
    StudentFactory,
    category,
    district,
)
from tests.outbox import sent_kwargs
from tests.queries import queries_for

pytestmark = pytest.mark.django_db

HEADER = ["student_number", "session_id", "check_in", "check_out", "note"]


# ------------------------------------------------------------------------------
# Files and personas
# ------------------------------------------------------------------------------
def local(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


def xlsx_file(rows, header=HEADER) -> bytes:
    """A workbook as Excel writes it: identifiers typed as text unless a test says otherwise."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "attendance"
    sheet.append(header)
    for row in rows:
        sheet.append(list(row))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def csv_file(rows, header=HEADER, encoding="utf-8-sig") -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


def rebuild_zip(content: bytes, *, replace=None, add=None, drop=()) -> bytes:
    """A copy of a zip with some members replaced, added or left out."""
    replace, add = replace or {}, add or {}
    source = zipfile.ZipFile(io.BytesIO(content))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            if info.filename in drop:
                continue
            data = replace.get(info.filename, source.read(info.filename))
            target.writestr(info.filename, data, compress_type=zipfile.ZIP_DEFLATED)
        for name, data in add.items():
            target.writestr(name, data, compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


@pytest.fixture
def client(client):
    """Pages in English, so messages read the same whatever the catalogue holds."""
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


@pytest.fixture
def ran():
    """A session that ran this morning at a base, its coordinator and three confirmed students."""
    start = (timezone.localtime() - timedelta(hours=6)).replace(second=0, microsecond=0)
    session = SessionFactory(
        post=PostFactory(base=BaseFactory(name="徐汇区图书馆")),
        starts_at=start,
        ends_at=start + timedelta(hours=3),
        applications_open_at=start - timedelta(days=10),
        applications_close_at=start - timedelta(days=1),
        taken=3,
    )
    students = [ApplicationFactory(session=session).student for _ in range(3)]
    coordinator = CoordinatorFactory(base=session.post.base).user
    return session, coordinator, students


def _row(student, session, start_minutes=0, end_minutes=180, note=""):
    return [
        student.student_number,
        str(session.pk),
        local(session.starts_at + timedelta(minutes=start_minutes)),
        local(session.starts_at + timedelta(minutes=end_minutes)),
        note,
    ]


def _preview(session, user, content, name="attendance.xlsx"):
    return attendance_import_preview(
        base=session.post.base, content=content, original_name=name, uploaded_by=user
    )


def _error_cells(item: AttendanceImport) -> set[tuple]:
    return {(e["row"], e["column"], e["code"]) for e in item.errors}


# ------------------------------------------------------------------------------
# The template
# ------------------------------------------------------------------------------
class TestTemplate:
    def test_it_has_the_columns_and_lists_the_bases_recent_sessions_with_ids(self, client, ran):
        session, coordinator, _ = ran
        foreign = SessionFactory()
        client.force_login(coordinator)
        response = client.get(
            reverse("bases:attendance-import-template", args=[session.post.base_id])
        )
        assert response.status_code == 200
        assert "attachment" in response["Content-Disposition"]
        workbook = openpyxl.load_workbook(io.BytesIO(response.content))
        assert workbook.sheetnames == ["attendance", "sessions", "instructions"]
        header = [c.value for c in workbook["attendance"][1]]
        assert header == HEADER
        ids = [row[0] for row in workbook["sessions"].iter_rows(min_row=2, values_only=True)]
        assert ids == [str(session.pk)]
        assert str(foreign.pk) not in ids
        id_cell = workbook["sessions"]["A2"]
        assert id_cell.data_type == "s"
        assert id_cell.number_format == "@"
        confirmed = workbook["sessions"]["E2"].value
        assert confirmed == 3

    def test_the_template_reads_back_as_an_empty_sheet(self, ran):
        session, coordinator, _ = ran
        item = _preview(session, coordinator, template_xlsx(base=session.post.base))
        assert item.status == ImportStatus.REFUSED
        assert _error_cells(item) == {(None, "", "no_rows")}

    def test_another_bases_coordinator_gets_404(self, client, ran):
        session, _, _ = ran
        client.force_login(CoordinatorFactory().user)
        url = reverse("bases:attendance-import-template", args=[session.post.base_id])
        assert client.get(url).status_code == 404


# ------------------------------------------------------------------------------
# Dry run and import
# ------------------------------------------------------------------------------
class TestDryRunAndConfirm:
    def test_a_clean_sheet_is_checked_without_writing_then_imported_whole(self, ran):
        session, coordinator, students = ran
        content = xlsx_file(
            [
                _row(students[0], session, -10, 170, "迟到"),
                _row(students[1], session, 0, 180),
            ]
        )
        item = _preview(session, coordinator, content)
        assert item.status == ImportStatus.PREVIEWED
        assert (item.row_count, item.created_count, item.errors) == (2, 2, [])
        assert not AttendanceScan.objects.exists()
        assert item.file.name.startswith("attendance-imports/")
        assert "attendance" not in item.file.name.rsplit("/", 1)[-1]  # a random name

        item = attendance_import_confirm(attendance_import=item, confirmed_by=coordinator)

        assert item.status == ImportStatus.IMPORTED
        assert item.created_count == 2
        assert item.imported_at is not None
        assert AttendanceScan.objects.filter(source=RecordedVia.IMPORT).count() == 4
        first = Attendance.objects.get(student=students[0])
        assert first.checked_in_at == session.starts_at - timedelta(minutes=10)
        assert first.checked_out_at == session.starts_at + timedelta(minutes=170)
        assert AuditLog.objects.filter(action="attendance_import.confirm").count() == 1
        # Closing the session credits the overlap, as for the roster.
        assert session_attendance_close(session=session, closed_by=coordinator) == 2
        minutes = dict(PracticeRecord.objects.values_list("student_id", "credited_minutes"))
        assert minutes == {students[0].pk: 170, students[1].pk: 180}

    def test_csv_in_utf8_and_in_gb18030_reads_the_same(self, ran):
        session, coordinator, students = ran
        rows = [_row(students[0], session, note="张三明 早退")]
        for encoding in ("utf-8-sig", "utf-8", "gb18030"):
            item = _preview(session, coordinator, csv_file(rows, encoding=encoding), "a.csv")
            assert item.status == ImportStatus.PREVIEWED, (encoding, item.errors)
            assert item.file.name.endswith(".csv")

    def test_chinese_headers_and_excel_date_cells_are_understood(self, ran):
        session, coordinator, students = ran
        start = timezone.localtime(session.starts_at).replace(tzinfo=None)
        content = xlsx_file(
            [[students[0].student_number, session.pk, start, start + timedelta(hours=3)]],
            header=["学籍号", "场次编号", "签到时间", "签退时间"],
        )
        item = _preview(session, coordinator, content)
        assert item.status == ImportStatus.PREVIEWED, item.errors

    def test_every_problem_is_named_by_row_and_column(self, ran, make_foreign_session):
        session, coordinator, students = ran
        base = session.post.base
        outsider = StudentFactory()
        busy = students[2]
        practice_record_upsert(
            source_ref="test:busy",
            facts=RecordFacts(
                student=busy,
                category=category(),
                title="社区服务",
                organiser_name="社区",
                organiser_level="other",
                district=district(),
                started_at=session.starts_at + timedelta(minutes=60),
                ended_at=session.starts_at + timedelta(minutes=120),
                credited_minutes=60,
                recorded_via=RecordedVia.TRANSFER,
            ),
            recorded_by=None,
        )
        other_base = make_foreign_session()
        closed = SessionFactory(
            post=PostFactory(base=base),
            starts_at=session.starts_at - timedelta(days=2),
            ends_at=session.ends_at - timedelta(days=2),
            applications_open_at=session.starts_at - timedelta(days=20),
            applications_close_at=session.starts_at - timedelta(days=3),
            attendance_closed_at=timezone.now(),
        )
        later = SessionFactory(
            post=PostFactory(base=base),
            starts_at=session.starts_at + timedelta(hours=1),
            ends_at=session.ends_at + timedelta(hours=1),
            applications_open_at=session.starts_at - timedelta(days=20),
            applications_close_at=session.starts_at - timedelta(days=3),
        )
        ApplicationFactory(session=later, student=students[1])
        future = timezone.localtime() + timedelta(days=1)
        rows = [
            ["G000000000000", session.pk, *_row(students[0], session)[2:]],  # row 2
            _row(outsider, session),  # 3: not confirmed
            _row(students[0], session, -60 * 4, 180),  # 4: check-in far before the session
            _row(students[0], session, 120, 60),  # 5: check-out before check-in
            _row(busy, session),  # 6: overlaps a record in the ledger
            [310104200901011234, session.pk, *_row(students[0], session)[2:]],  # 7: a number
            _row(students[0], other_base),  # 8: another base's session
            _row(students[0], closed),  # 9: attendance already closed
            [students[0].student_number, 99999999, *_row(students[0], session)[2:]],  # 10
            [students[0].student_number, session.pk, "tomorrow morning", "12:00"],  # 11
            _row(students[1], session, 0, 120),  # 12: fine on its own
            _row(students[1], session, 0, 120),  # 13: the same student and session again
            _row(students[1], later, 0, 120),  # 14: at the same time as row 12
            [
                students[0].student_number,
                session.pk,
                local(future),
                local(future + timedelta(hours=1)),
            ],  # 15: in the future
        ]
        item = _preview(session, coordinator, xlsx_file(rows))

        assert item.status == ImportStatus.REFUSED
        assert _error_cells(item) == {
            (2, "student_number", "unknown_student"),
            (3, "student_number", "not_confirmed"),
            (4, "check_in", "time_outside_session"),
            (5, "check_out", "out_before_in"),
            (6, "check_in", "overlap"),
            (7, "student_number", "number_cell"),
            (8, "session_id", "other_base"),
            (9, "session_id", "closed_session"),
            (10, "session_id", "unknown_session"),
            (11, "check_in", "invalid_time"),
            (11, "check_out", "invalid_time"),
            (13, "student_number", "duplicate_row"),
            (14, "check_in", "overlap"),
            (15, "check_in", "time_in_future"),
            (15, "check_out", "time_in_future"),
        }
        # Messages are stored as codes: read them in English here.
        with translation.override("en"):
            messages = {(e["row"], e["column"]): message_text(e) for e in item.errors}
        assert "社区服务" in messages[(6, "check_in")]
        assert "turned this student number into a number" in messages[(7, "student_number")]
        assert "row 12" in messages[(14, "check_in")]
        assert not AttendanceScan.objects.exists()

    def test_the_preview_page_shows_each_error_with_its_row_and_column(self, client, ran):
        session, coordinator, students = ran
        item = _preview(
            session, coordinator, xlsx_file([_row(StudentFactory(name="<b>王五</b>"), session)])
        )
        client.force_login(coordinator)
        page = client.get(reverse("bases:attendance-import-detail", args=[item.pk]))
        html = page.content.decode()
        assert 'data-row="2" data-column="student_number" data-code="not_confirmed"' in html
        assert "&lt;b&gt;王五&lt;/b&gt;" in html  # values and names are escaped
        assert 'data-testid="confirm-form"' not in html

    def test_confirm_is_all_or_nothing_when_the_data_changed_since_the_preview(self, ran):
        session, coordinator, students = ran
        item = _preview(session, coordinator, xlsx_file([_row(s, session) for s in students]))
        assert item.status == ImportStatus.PREVIEWED
        students[2].applications.update(status=ApplicationStatus.CANCELLED)

        item = attendance_import_confirm(attendance_import=item, confirmed_by=coordinator)

        assert item.status == ImportStatus.REFUSED
        assert _error_cells(item) == {(4, "student_number", "not_confirmed")}
        assert not AttendanceScan.objects.exists()
        assert not Attendance.objects.exists()

    def test_a_row_refused_at_confirm_rolls_back_every_row(self, ran):
        """The preview accepts both rows; by confirm one student has left the roster."""
        session, coordinator, students = ran
        leaver = ApplicationFactory(session=session).student
        content = xlsx_file([_row(students[0], session), _row(leaver, session)])
        item = _preview(session, coordinator, content)
        assert item.status == ImportStatus.PREVIEWED
        leaver.applications.update(status=ApplicationStatus.CANCELLED)

        item = attendance_import_confirm(attendance_import=item, confirmed_by=coordinator)

        assert item.status == ImportStatus.REFUSED
        assert {(e["row"], e["code"]) for e in item.errors} == {(3, "not_confirmed")}
        assert not AttendanceScan.objects.exists()
        assert not Attendance.objects.exists()

    def test_the_same_file_again_adds_nothing_even_after_closing(self, ran):
        session, coordinator, students = ran
        content = xlsx_file([_row(s, session, 5, 175) for s in students])
        first = _preview(session, coordinator, content)
        attendance_import_confirm(attendance_import=first, confirmed_by=coordinator)
        scans = AttendanceScan.objects.count()

        again = _preview(session, coordinator, content)
        assert again.status == ImportStatus.PREVIEWED
        assert (again.row_count, again.created_count) == (3, 0)
        again = attendance_import_confirm(attendance_import=again, confirmed_by=coordinator)
        assert (again.status, again.created_count) == (ImportStatus.IMPORTED, 0)
        assert AttendanceScan.objects.count() == scans

        session_attendance_close(session=session, closed_by=coordinator)
        records = list(PracticeRecord.objects.values_list("pk", "version", "credited_minutes"))
        third = _preview(session, coordinator, content)
        assert third.status == ImportStatus.PREVIEWED, third.errors
        third = attendance_import_confirm(attendance_import=third, confirmed_by=coordinator)
        assert third.status == ImportStatus.IMPORTED
        assert AttendanceScan.objects.count() == scans
        assert list(PracticeRecord.objects.values_list("pk", "version", "credited_minutes")) == (
            records
        )

    def test_confirming_twice_imports_once(self, ran):
        session, coordinator, students = ran
        item = _preview(session, coordinator, xlsx_file([_row(students[0], session)]))
        attendance_import_confirm(attendance_import=item, confirmed_by=coordinator)
        attendance_import_confirm(attendance_import=item, confirmed_by=coordinator)
        assert AttendanceScan.objects.count() == 2
        assert AuditLog.objects.filter(action="attendance_import.confirm").count() == 1

    def test_times_recorded_on_the_roster_are_not_overwritten_by_a_sheet(self, ran):
        session, coordinator, students = ran
        first = _preview(session, coordinator, xlsx_file([_row(students[0], session, 0, 180)]))
        attendance_import_confirm(attendance_import=first, confirmed_by=coordinator)
        changed = _preview(session, coordinator, xlsx_file([_row(students[0], session, 0, 120)]))
        assert _error_cells(changed) == {(2, "check_in", "already_recorded")}

    def test_confirm_imports_exactly_the_previewed_file(self, ran):
        session, coordinator, students = ran
        item = _preview(session, coordinator, xlsx_file([_row(students[0], session)]))
        with item.file.open("wb") as stored:
            stored.write(xlsx_file([_row(s, session) for s in students]))
        item = attendance_import_confirm(attendance_import=item, confirmed_by=coordinator)
        assert item.status == ImportStatus.REFUSED
        assert _error_cells(item) == {(None, "", "changed")}
        assert not AttendanceScan.objects.exists()

    def test_nonces_depend_on_the_base_and_the_row_only(self, ran):
        session, _, students = ran
        at = session.starts_at
        same = [
            row_nonce(
                base=session.post.base,
                student_number=students[0].student_number,
                session_id=session.pk,
                kind="in",
                at=at,
            )
            for _ in range(2)
        ]
        other_base = row_nonce(
            base=BaseFactory(),
            student_number=students[0].student_number,
            session_id=session.pk,
            kind="in",
            at=at,
        )
        assert same[0] == same[1] != other_base
        assert len(same[0]) <= 64


class TestConfirmChecksWhatChanged:
    """Confirming uses the rows the preview kept, checked again against what changed since."""

    def test_a_session_moved_since_the_preview_refuses_the_rows_outside_its_new_times(self, ran):
        session, coordinator, students = ran
        item = _preview(session, coordinator, xlsx_file([_row(s, session) for s in students]))
        assert item.status == ImportStatus.PREVIEWED
        Session.objects.filter(pk=session.pk).update(
            starts_at=session.starts_at + timedelta(hours=4),
            ends_at=session.ends_at + timedelta(hours=4),
        )

        item = attendance_import_confirm(attendance_import=item, confirmed_by=coordinator)

        assert item.status == ImportStatus.REFUSED
        assert _error_cells(item) == {(n, "check_in", "time_outside_session") for n in (2, 3, 4)}
        assert not AttendanceScan.objects.exists()

    def test_a_session_cancelled_since_the_preview_takes_no_row(self, ran):
        session, coordinator, students = ran
        item = _preview(session, coordinator, xlsx_file([_row(students[0], session)]))
        Session.objects.filter(pk=session.pk).update(cancelled_at=timezone.now())

        item = attendance_import_confirm(attendance_import=item, confirmed_by=coordinator)

        assert _error_cells(item) == {(2, "session_id", "closed_session")}
        assert not Attendance.objects.exists()

    def test_times_recorded_on_the_roster_since_the_preview_are_not_overwritten(self, ran):
        session, coordinator, students = ran
        item = _preview(session, coordinator, xlsx_file([_row(s, session) for s in students]))
        for kind, minutes in (("in", 30), ("out", 100)):
            attendance_scan_record(
                session=session,
                scan=Scan(
                    nonce=f"roster-{kind}-0001",
                    student=students[1],
                    kind=kind,
                    happened_at=session.starts_at + timedelta(minutes=minutes),
                ),
                source=RecordedVia.ROSTER,
                recorded_by=coordinator,
            )

        item = attendance_import_confirm(attendance_import=item, confirmed_by=coordinator)

        assert _error_cells(item) == {(3, "check_in", "already_recorded")}
        recorded = Attendance.objects.get()
        assert (recorded.student, recorded.checked_in_at) == (
            students[1],
            session.starts_at + timedelta(minutes=30),
        )

    def test_a_row_whose_scan_id_was_taken_meanwhile_is_refused_and_nothing_imported(
        self, ran, make_foreign_session
    ):
        session, coordinator, students = ran
        item = _preview(session, coordinator, xlsx_file([_row(s, session) for s in students]))
        other = make_foreign_session()
        AttendanceScan.objects.create(
            nonce=row_nonce(
                base=session.post.base,
                student_number=students[2].student_number,
                session_id=session.pk,
                kind="in",
                at=session.starts_at,
            ),
            session=other,
            student=students[2],
            kind="in",
            happened_at=other.starts_at,
            source=RecordedVia.API,
            payload_digest="0" * 64,
        )

        item = attendance_import_confirm(attendance_import=item, confirmed_by=coordinator)

        assert item.status == ImportStatus.REFUSED
        assert _error_cells(item) == {(4, "check_in", "nonce_reused")}
        assert AttendanceScan.objects.filter(session=session).count() == 0
        assert not Attendance.objects.exists()

    def test_kept_rows_changed_on_the_server_are_not_trusted(
        self, ran, django_capture_on_commit_callbacks
    ):
        session, coordinator, students = ran
        item = _preview(session, coordinator, xlsx_file([_row(students[0], session)]))
        name = staging._stage_name(item)
        with default_storage.open(name, "rb") as stored:
            signature, _, data = stored.read().partition(b"\n")
        forged = data.replace(f"[2,{students[0].pk},".encode(), f"[2,{students[1].pk},".encode())
        assert forged != data
        default_storage.delete(name)
        default_storage.save(name, ContentFile(signature + b"\n" + forged))

        with django_capture_on_commit_callbacks(execute=True):
            item = attendance_import_confirm(attendance_import=item, confirmed_by=coordinator)

        assert item.status == ImportStatus.IMPORTED
        assert list(Attendance.objects.values_list("student", flat=True)) == [students[0].pk]
        assert not default_storage.exists(name), "the kept rows go once imported"


@pytest.fixture
def make_foreign_session():
    def make():
        start = (timezone.localtime() - timedelta(hours=6)).replace(second=0, microsecond=0)
        return SessionFactory(
            starts_at=start,
            ends_at=start + timedelta(hours=3),
            applications_open_at=start - timedelta(days=10),
            applications_close_at=start - timedelta(days=1),
        )

    return make


# ------------------------------------------------------------------------------
# Limits and formats, each with a real file
# ------------------------------------------------------------------------------
def _refusal(content: bytes) -> ImportRefused:
    with pytest.raises(ImportRefused) as error:
        read_sheet(content)
    return error.value


def _valid_xlsx() -> bytes:
    return xlsx_file([["G31010420090101", "1", "2026-03-01 09:00", "2026-03-01 12:00", ""]])


BILLION_LAUGHS = (
    '<?xml version="1.0"?>\n'
    "<!DOCTYPE lolz [\n"
    ' <!ENTITY lol "lol">\n'
    + "".join(
        f' <!ENTITY lol{n} "{("&lol" + (str(n - 1) if n > 1 else "") + ";") * 10}">\n'
        for n in range(1, 10)
    )
    + "]>\n"
    '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" '
    'uniqueCount="1"><si><t>&lol9;</t></si></sst>'
)


class TestLimits:
    def test_openpyxl_parses_with_defusedxml(self):
        assert openpyxl.DEFUSEDXML is True

    def test_a_file_over_10_mb_is_refused(self):
        error = _refusal(b"a,b\n" * (MAX_UPLOAD_BYTES // 4 + 1))
        assert error.code == "too_large"

    def test_an_upload_announcing_more_than_10_mb_is_refused_before_its_body_is_read(
        self, client, ran
    ):
        session, coordinator, _ = ran
        client.force_login(coordinator)
        content = b"x" * (MAX_UPLOAD_BYTES + 100 * 1024)
        with mock.patch.object(
            HttpRequest, "_load_post_and_files", side_effect=AssertionError("body read")
        ):
            response = client.post(
                reverse("bases:attendance-import", args=[session.post.base_id]),
                {"file": io.BytesIO(content)},
            )
        assert response.status_code == 413
        assert "at most 10 MB" in response.content.decode()
        assert not AttendanceImport.objects.exists()
        assert AuditLog.objects.get(action="attendance_import.refuse").data["code"] == "too_large"

    def test_a_file_part_over_10_mb_is_dropped_while_streaming(self, client, ran):
        session, coordinator, _ = ran
        client.force_login(coordinator)
        upload = io.BytesIO(b"x" * (MAX_UPLOAD_BYTES + 1))
        upload.name = "big.csv"
        response = client.post(
            reverse("bases:attendance-import", args=[session.post.base_id]), {"file": upload}
        )
        assert response.status_code == 413
        assert not AttendanceImport.objects.exists()

    def test_a_sheet_over_20000_rows_is_refused_without_reading_the_rest(self):
        # openpyxl's write-only mode leaves out <dimension>, which makes load_workbook parse
        # the whole sheet once just to find it: the reader must not go that way.
        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet("attendance")
        sheet.append(HEADER)
        for n in range(30_000):
            sheet.append([f"G{n:012d}", "1", "2026-03-01 09:00", "2026-03-01 12:00"])
        buffer = io.BytesIO()
        workbook.save(buffer)
        parsed = []
        real_feed = uploads._SheetStream.feed

        def counting(stream, chunk, **kwargs):
            rows = real_feed(stream, chunk, **kwargs)
            parsed.extend(rows)
            return rows

        with (
            mock.patch.object(uploads._SheetStream, "feed", counting),
            mock.patch.object(
                ExcelReader, "read_worksheets", side_effect=AssertionError("full scan")
            ),
        ):
            error = _refusal(buffer.getvalue())
        assert error.code == "too_many_rows"
        assert error.rows_read == MAX_DATA_ROWS + 1
        # The header, 20,000 rows and one too many, and at most the rest of that piece of XML.
        assert MAX_DATA_ROWS + 2 <= len(parsed) < MAX_DATA_ROWS + 5_000

    def test_a_csv_over_20000_rows_is_refused_too(self):
        rows = [[f"G{n:012d}", "1", "2026-03-01 09:00", "2026-03-01 12:00"] for n in range(20_001)]
        error = _refusal(csv_file(rows))
        assert (error.code, error.rows_read) == ("too_many_rows", MAX_DATA_ROWS + 1)

    def test_exactly_20000_rows_are_read(self):
        rows = [[f"G{n:012d}", "1", "2026-03-01 09:00", "2026-03-01 12:00"] for n in range(20_000)]
        assert len(read_sheet(csv_file(rows)).rows) == MAX_DATA_ROWS

    def test_a_zip_bomb_is_refused_from_the_directory_before_openpyxl_opens_it(self):
        padding = b" " * (60 * 1024 * 1024)
        bomb = rebuild_zip(
            _valid_xlsx(),
            replace={"xl/worksheets/sheet1.xml": b'<?xml version="1.0"?>' + padding},
        )
        assert len(bomb) < MAX_UPLOAD_BYTES
        with mock.patch.object(uploads, "ExcelReader", side_effect=AssertionError("opened")):
            error = _refusal(bomb)
        assert error.code == "zip_bomb"

    def test_a_tightly_compressed_member_is_refused(self):
        bomb = rebuild_zip(_valid_xlsx(), add={"xl/media/image1.png": b"\0" * (5 * 1024 * 1024)})
        with mock.patch.object(uploads, "ExcelReader", side_effect=AssertionError("opened")):
            assert _refusal(bomb).code == "zip_bomb"

    def test_a_zip_of_thousands_of_members_is_refused(self):
        bomb = rebuild_zip(_valid_xlsx(), add={f"xl/x/{n}.xml": b"<a/>" for n in range(1001)})
        assert _refusal(bomb).code == "zip_bomb"

    def test_a_billion_laughs_in_the_shared_strings_is_refused(self):
        package = zipfile.ZipFile(io.BytesIO(_valid_xlsx()))
        types = (
            package.read("[Content_Types].xml")
            .decode()
            .replace(
                "</Types>",
                '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.'
                'openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>',
            )
        )
        bomb = rebuild_zip(
            _valid_xlsx(),
            replace={"[Content_Types].xml": types},
            add={"xl/sharedStrings.xml": BILLION_LAUGHS},
        )
        assert _refusal(bomb).code == "unsafe_xml"

    def test_a_billion_laughs_in_the_sheet_is_refused(self):
        sheet_bomb = BILLION_LAUGHS.replace("<sst", "<worksheet").replace("</sst>", "</worksheet>")
        bomb = rebuild_zip(_valid_xlsx(), replace={"xl/worksheets/sheet1.xml": sheet_bomb})
        assert _refusal(bomb).code == "unsafe_xml"

    def test_an_xlsm_with_a_vba_project_is_refused(self):
        package = zipfile.ZipFile(io.BytesIO(_valid_xlsx()))
        types = (
            package.read("[Content_Types].xml")
            .decode()
            .replace(
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
                "application/vnd.ms-excel.sheet.macroEnabled.main+xml",
            )
        )
        xlsm = rebuild_zip(
            _valid_xlsx(),
            replace={"[Content_Types].xml": types},
            add={"xl/vbaProject.bin": OLE_HEADER + b"\0" * 512},
        )
        assert _refusal(xlsm).code == "macro"

    def test_a_vba_project_hidden_in_a_plain_workbook_is_refused(self):
        hidden = rebuild_zip(_valid_xlsx(), add={"xl/vbaProject.bin": OLE_HEADER + b"\0" * 512})
        assert _refusal(hidden).code == "macro"

    def test_a_macro_content_type_alone_is_refused(self):
        package = zipfile.ZipFile(io.BytesIO(_valid_xlsx()))
        types = (
            package.read("[Content_Types].xml")
            .decode()
            .replace(
                "</Types>",
                '<Default Extension="bin" '
                'ContentType="application/vnd.ms-office.vbaProject"/></Types>',
            )
        )
        assert _refusal(
            rebuild_zip(_valid_xlsx(), replace={"[Content_Types].xml": types})
        ).code == ("macro")

    def test_an_old_xls_renamed_xlsx_is_refused_by_content(self, client, ran):
        session, coordinator, _ = ran
        client.force_login(coordinator)
        upload = io.BytesIO(OLE_HEADER + b"\0" * 4096)
        upload.name = "attendance.xlsx"
        response = client.post(
            reverse("bases:attendance-import", args=[session.post.base_id]), {"file": upload}
        )
        assert response.status_code == 400
        assert "old Excel (.xls)" in response.content.decode()
        assert "nothing was saved" in response.content.decode()
        assert not AttendanceImport.objects.exists()
        assert AuditLog.objects.get(action="attendance_import.refuse").data["code"] == "old_excel"

    def test_a_pdf_renamed_csv_is_refused(self):
        error = _refusal(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n")
        assert error.code == "wrong_format"
        assert "PDF" in error.messages[0]

    def test_a_png_renamed_xlsx_is_refused(self):
        assert _refusal(b"\x89PNG\r\n\x1a\n" + b"\0" * 64).code == "wrong_format"

    def test_binary_bytes_are_not_taken_for_csv(self):
        assert _refusal(bytes(range(256)) * 4).code == "wrong_format"

    def test_a_word_document_is_not_a_workbook(self):
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as docx:
            docx.writestr(
                "[Content_Types].xml",
                '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/'
                '2006/content-types"><Override PartName="/word/document.xml" ContentType='
                '"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main'
                '+xml"/></Types>',
            )
            docx.writestr("word/document.xml", "<w:document/>")
        assert _refusal(out.getvalue()).code == "not_spreadsheet"

    def test_a_damaged_zip_is_refused(self):
        assert _refusal(_valid_xlsx()[:300]).code == "bad_zip"

    def test_a_sheet_without_the_columns_is_kept_as_refused_with_the_reason(self, ran):
        session, coordinator, _ = ran
        item = _preview(session, coordinator, csv_file([["x"]], header=["name"]))
        assert item.status == ImportStatus.REFUSED
        assert _error_cells(item) == {(None, "", "missing_columns")}


OLE_HEADER = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


# ------------------------------------------------------------------------------
# Pages
# ------------------------------------------------------------------------------
class TestPages:
    def test_upload_check_and_confirm_through_the_pages(self, client, ran):
        session, coordinator, students = ran
        client.force_login(coordinator)
        upload = io.BytesIO(xlsx_file([_row(s, session) for s in students]))
        upload.name = "周六考勤.xlsx"
        response = client.post(
            reverse("bases:attendance-import", args=[session.post.base_id]), {"file": upload}
        )
        item = AttendanceImport.objects.get()
        assert response.status_code == 302
        assert response.url == reverse("bases:attendance-import-detail", args=[item.pk])
        assert item.original_name == "周六考勤.xlsx"
        page = client.get(response.url).content.decode()
        assert 'data-testid="confirm-form"' in page
        assert "Import 3 rows" in page

        response = client.post(reverse("bases:attendance-import-confirm", args=[item.pk]))
        assert response.status_code == 302
        item.refresh_from_db()
        assert item.status == ImportStatus.IMPORTED
        assert Attendance.objects.filter(checked_out_at__isnull=False).count() == 3
        page = client.get(response.url).content.decode()
        assert "3 rows added, 0 already recorded" in page

    def test_the_index_goes_straight_to_the_only_base(self, client, ran):
        session, coordinator, _ = ran
        client.force_login(coordinator)
        response = client.get(reverse("bases:attendance-imports"))
        assert response.url == reverse("bases:attendance-import", args=[session.post.base_id])

    def test_foreign_imports_and_other_roles_get_404(self, client, ran):
        session, coordinator, students = ran
        item = _preview(session, coordinator, xlsx_file([_row(students[0], session)]))
        client.force_login(CoordinatorFactory().user)
        for url in (
            reverse("bases:attendance-import", args=[session.post.base_id]),
            reverse("bases:attendance-import-detail", args=[item.pk]),
        ):
            assert client.get(url).status_code == 404
        assert (
            client.post(reverse("bases:attendance-import-confirm", args=[item.pk])).status_code
            == 404
        )
        client.force_login(students[0].user)
        assert client.get(reverse("bases:attendance-imports")).status_code == 404
        item.refresh_from_db()
        assert item.status == ImportStatus.PREVIEWED

    def test_the_upload_page_checks_the_csrf_token_itself(self, ran):
        from django.test import Client

        session, coordinator, students = ran
        strict = Client(enforce_csrf_checks=True)
        strict.force_login(coordinator)
        upload = io.BytesIO(xlsx_file([_row(students[0], session)]))
        upload.name = "a.xlsx"
        response = strict.post(
            reverse("bases:attendance-import", args=[session.post.base_id]), {"file": upload}
        )
        assert response.status_code == 403
        assert not AttendanceImport.objects.exists()

        url = reverse("bases:attendance-import", args=[session.post.base_id])
        strict.get(url)
        upload.seek(0)
        response = strict.post(
            url,
            {
                "file": upload,
                "csrfmiddlewaretoken": strict.cookies[settings.CSRF_COOKIE_NAME].value,
            },
        )
        assert response.status_code == 302
        assert AttendanceImport.objects.count() == 1

    def test_the_pages_make_a_fixed_number_of_queries(self, client, ran):
        session, coordinator, students = ran
        url = reverse("bases:attendance-import", args=[session.post.base_id])

        def upload(rows):
            content = xlsx_file([_row(StudentFactory(), session) for _ in range(rows)])
            return _preview(session, coordinator, content)

        client.force_login(coordinator)
        one_row = [upload(1) for _ in range(2)][-1]
        small, _ = queries_for(lambda: client.get(url))
        twelve_rows = [upload(12) for _ in range(6)][-1]
        large, page = queries_for(lambda: client.get(url))
        assert page.content.decode().count('data-testid="import-row"') == 8
        # session, user, role check, base, recent imports with their uploaders
        assert small == large <= 6

        def detail(item):
            return queries_for(
                lambda: client.get(reverse("bases:attendance-import-detail", args=[item.pk]))
            )

        (small, _), (large, _) = detail(one_row), detail(twelve_rows)
        # session, user, the import with its base and uploader
        assert small == large <= 4


def test_records_from_imports_say_so(ran):
    session, coordinator, students = ran
    item = _preview(session, coordinator, xlsx_file([_row(students[0], session)]))
    attendance_import_confirm(attendance_import=item, confirmed_by=coordinator)
    session_attendance_close(session=session, closed_by=coordinator)
    record = PracticeRecord.objects.get()
    assert record.recorded_via == RecordedVia.IMPORT
    assert record.status == RecordStatus.IN_NOTICE


def test_a_large_sheet_is_imported_by_the_worker_while_the_page_shows_progress(
    client, ran, monkeypatch, django_capture_on_commit_callbacks
):
    from bases import tasks
    from bases.attendance_import import services

    session, coordinator, students = ran
    monkeypatch.setattr(services, "BACKGROUND_ROWS", 2)
    monkeypatch.setattr("bases.views.attendance_import.BACKGROUND_ROWS", 2)
    client.force_login(coordinator)
    item = _preview(session, coordinator, xlsx_file([_row(s, session) for s in students]))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("bases:attendance-import-confirm", args=[item.pk]))
    queued = sent_kwargs(tasks.attendance_import_confirm)
    item.refresh_from_db()
    assert item.status == ImportStatus.IMPORTING
    assert not AttendanceScan.objects.exists()
    page = client.get(response.url).content.decode()
    assert 'data-testid="importing"' in page and 'http-equiv="refresh"' in page

    # What the worker runs: the queued task, twice (a redelivery) imports once.
    assert queued == [{"import_id": item.pk, "user_id": coordinator.pk}]
    tasks.attendance_import_confirm.run(**queued[0])
    tasks.attendance_import_confirm.run(**queued[0])
    item.refresh_from_db()
    assert item.status == ImportStatus.IMPORTED
    assert AttendanceScan.objects.count() == 6
    assert 'data-testid="importing"' not in client.get(response.url).content.decode()
