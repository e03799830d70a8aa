"""Records from other platforms: each platform's columns, row-level preview with reasons, the
same file twice, overlaps kept apart for the school's decision (never credited twice), hostile
files refused, and a student's own upload waiting for the school's review."""

import io
import zipfile
from datetime import datetime, timedelta

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from portal.messages import message_text
from portal.models import AuditLog, Notification
from portal.spreadsheets import Sheet, write_workbook
from students.models import (
    OrganiserLevel,
    PlatformImport,
    PlatformImportStatus,
    PlatformRecord,
    PlatformRecordStatus,
    PracticeRecord,
    RecordedVia,
    RecordStatus,
)
from students.progress.ledger import progress_for_student
from students.services import RecordFacts, practice_record_upsert
from tests.factories import (
    SchoolAdminFactory,
    SchoolClassFactory,
    SchoolFactory,
    StudentFactory,
    category,
)

pytestmark = pytest.mark.django_db

SHVOL_HEADER = ("记录编号", "志愿者编号", "学籍号", "姓名", "项目名称", "发布组织", "服务日期",
                "开始时间", "结束时间", "服务时长（小时）")  # fmt: skip
ZYH_HEADER = ("流水号", "志愿汇号", "学籍号", "真实姓名", "活动名称", "主办方", "签到时间",
              "签退时间", "志愿时长")  # fmt: skip
GENERIC_HEADER = ("record_id", "student_number", "name", "activity", "organiser", "date", "hours")


@pytest.fixture
def client(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


@pytest.fixture
def admin():
    return SchoolAdminFactory(school=SchoolFactory(name="上海市徐汇中学"))


@pytest.fixture
def school(admin):
    return admin.school


@pytest.fixture
def students(school):
    school_class = SchoolClassFactory(school=school)
    return [StudentFactory(school_class=school_class) for _ in range(20)]


@pytest.fixture
def admin_client(client, admin):
    client.force_login(admin.user)
    return client


def other_client() -> Client:
    """A second browser: `admin_client` is the `client` fixture itself."""
    browser = Client()
    browser.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return browser


def xlsx(header, rows) -> bytes:
    return write_workbook([Sheet("records", header, rows)])


def csv_bytes(header, rows) -> bytes:
    lines = [",".join(header)] + [",".join(str(v) for v in row) for row in rows]
    return ("\ufeff" + "\r\n".join(lines) + "\r\n").encode()


def upload(client, content: bytes, *, school=None, platform="shvol", name="export.xlsx"):
    url = (
        reverse("students:platform-imports", args=[school.pk])
        if school
        else reverse("students:my-platform-imports")
    )
    return client.post(url, {"platform": platform, "file": SimpleUploadedFile(name, content)})


def preview(client, content, *, school, **kw) -> PlatformImport:
    response = upload(client, content, school=school, **kw)
    assert response.status_code == 302, response.content.decode()[:3000]
    return PlatformImport.objects.latest("id")


def confirm(client, item):
    return client.post(reverse("students:platform-import-confirm", args=[item.pk]))


def shvol_row(record_id, s, day, start="09:00", end="11:00", hours="", activity="敬老院"):
    """One 上海志愿者网/志愿云 row for student `s`."""
    return [record_id, "", s.student_number, s.name, activity, "协会", day, start, end, hours]


def shvol_rows(students, count: int, *, day0="2026-03-02"):
    """`count` rows of two hours, 09:00-11:00, spread so each student has one per date."""
    first = datetime.fromisoformat(day0)
    rows = []
    for n in range(count):
        student = students[n % len(students)]
        day = first + timedelta(days=n // len(students))
        rows.append([f"SH-{n:05d}", f"V{student.pk:06d}", student.student_number, student.name,
                     f"社区服务{n}", "徐汇区志愿者协会", day.strftime("%Y-%m-%d"), "09:00", "11:00",
                     "2"])  # fmt: skip
    return rows


def roster_record(student, start: datetime, minutes=120) -> PracticeRecord:
    started = timezone.make_aware(start)
    record, _created = practice_record_upsert(
        source_ref=f"attendance:test-{student.pk}-{start:%Y%m%d%H%M}",
        facts=RecordFacts(
            student=student,
            category=category(),
            title="图书馆整理",
            organiser_name="徐汇区图书馆",
            organiser_level=OrganiserLevel.DISTRICT,
            district=None,
            started_at=started,
            ended_at=started + timedelta(minutes=minutes),
            credited_minutes=minutes,
            recorded_via=RecordedVia.ROSTER,
        ),
        recorded_by=None,
    )
    return record


def test_each_platforms_columns_are_mapped(admin_client, admin, school, students):
    one, two, three = students[:3]
    shvol = xlsx(SHVOL_HEADER, [["SH-1", "V001", one.student_number, one.name, "敬老院陪伴",
                                 "徐汇区志愿者协会", "2026-03-02", "13:00", "15:30",
                                 ""]])  # fmt: skip
    zyh = csv_bytes(ZYH_HEADER, [["ZYH-9", "ZH77", two.student_number, two.name, "河道清洁",
                                  "志愿汇·长宁", "2026/03/03 08:30", "2026/03/03 10:00",
                                  "1.5"]])  # fmt: skip
    generic = xlsx(GENERIC_HEADER, [["G-1", three.student_number, three.name, "社区图书角",
                                     "某街道", "2026年3月4日", "2.5"]])  # fmt: skip
    uploads = ((shvol, "shvol", "a.xlsx"), (zyh, "zyh", "b.csv"), (generic, "generic", "c.xlsx"))
    for done, (content, platform, name) in enumerate(uploads):
        item = preview(admin_client, content, school=school, platform=platform, name=name)
        assert item.status == PlatformImportStatus.PREVIEWED, item.errors
        assert [row["outcome"] for row in item.preview] == ["new"]
        page = admin_client.get(item.get_absolute_url()).content.decode()
        assert 'data-outcome="new"' in page
        assert PracticeRecord.objects.count() == done  # nothing written before confirming
        assert confirm(admin_client, item).status_code == 302

    by_student = {r.student_id: r for r in PracticeRecord.objects.all()}
    local = {k: (timezone.localtime(r.started_at), timezone.localtime(r.ended_at))
             for k, r in by_student.items()}  # fmt: skip
    assert local[one.pk][0].strftime("%m-%d %H:%M") == "03-02 13:00"
    assert by_student[one.pk].credited_minutes == 150
    assert local[two.pk][0].strftime("%m-%d %H:%M") == "03-03 08:30"
    assert by_student[two.pk].credited_minutes == 90
    # Hours only: the start is assumed at 09:00 and said so.
    assert local[three.pk][0].strftime("%m-%d %H:%M") == "03-04 09:00"
    assert by_student[three.pk].credited_minutes == 150
    for record in by_student.values():
        assert record.recorded_via == RecordedVia.PLATFORM
        assert record.organiser_level == OrganiserLevel.OTHER
        assert record.status == RecordStatus.IN_NOTICE
    origin = PlatformRecord.objects.get(original_id="ZYH-9")
    assert (origin.platform, origin.imported_by, origin.record.student) == ("zyh", admin.user, two)
    assert origin.sha256 == origin.upload.sha256 and len(origin.sha256) == 64
    assert origin.volunteer_number == "ZH77"
    assert PlatformRecord.objects.get(original_id="G-1").start_assumed


def test_a_known_volunteer_number_finds_the_student(admin_client, school, students):
    one = students[0]
    first = [["SH-1", "V9", one.student_number, one.name, "a", "b", "2026-03-02", "09:00",
              "10:00", ""]]  # fmt: skip
    confirm(admin_client, preview(admin_client, xlsx(SHVOL_HEADER, first), school=school))
    later = [["SH-2", "V9", "", "", "c", "d", "2026-03-05", "09:00", "10:00", ""]]
    item = preview(admin_client, xlsx(SHVOL_HEADER, later), school=school)
    assert item.status == PlatformImportStatus.PREVIEWED, item.errors
    confirm(admin_client, item)
    assert PracticeRecord.objects.filter(student=one).count() == 2


def test_bad_rows_are_named_with_reasons_and_nothing_is_written(admin_client, school, students):
    one = students[0]
    other_school = StudentFactory()
    rows = [
        shvol_row("", one, "2026-03-02", end="10:00"),
        ["SH-2", "", "G00000000", "某", "敬老院", "协会", "2026-03-02", "09:00", "10:00", ""],
        ["SH-3", "", other_school.student_number, "某", "敬老院", "协会", "2026-03-02", "09:00",
         "10:00", ""],
        shvol_row("SH-4", one, "3月2日", end="10:00"),
        ["SH-5", "", one.student_number, one.name, "敬老院", "协会", "2026-03-03", "09:00", "10:00",
         "5"],
        ["SH-6", "", one.student_number, one.name, "", "协会", "2026-03-04", "09:00", "10:00", ""],
        ["SH-7", "", one.student_number, one.name, "敬老院", "协会", "2099-03-04", "09:00", "10:00",
         ""],
        shvol_row("SH-8", one, "2026-03-05", start="9点", end="10:00"),
        ["SH-9", "", one.student_number, one.name, "b", "协会", "2026-03-06", "09:00", "10:00", ""],
        ["SH-9", "", one.student_number, one.name, "b", "协会", "2026-03-07", "09:00", "10:00", ""],
    ]  # fmt: skip
    item = preview(admin_client, xlsx(SHVOL_HEADER, rows), school=school)
    assert item.status == PlatformImportStatus.REFUSED
    codes = {(e["row"], e["column"], e["code"]) for e in item.errors}
    assert codes == {
        (2, "record_id", "empty"),
        (3, "student_number", "unknown_student"),
        (4, "student_number", "unknown_student"),
        (5, "date", "bad_date"),
        (6, "hours", "hours_too_long"),
        (7, "activity", "empty"),
        (8, "date", "in_future"),
        (9, "start", "bad_time"),
        (11, "record_id", "duplicate_id"),
    }
    page = admin_client.get(item.get_absolute_url()).content.decode()
    assert "More hours than between the start and the end (60 minutes)." in page
    assert "The same record id as row 10." in page
    assert 'data-testid="confirm-form"' not in page
    assert confirm(admin_client, item).status_code == 302
    assert not PracticeRecord.objects.exists() and not PlatformRecord.objects.exists()


def test_missing_columns_refuse_the_file(admin_client, school, students):
    item = preview(admin_client, xlsx(("姓名", "项目名称"), [["张", "x"]]), school=school)
    assert item.status == PlatformImportStatus.REFUSED
    assert "missing" in message_text(item.errors[0])


def test_importing_the_same_file_twice_changes_nothing(admin_client, school, students):
    content = xlsx(SHVOL_HEADER, shvol_rows(students, 40))
    confirm(admin_client, preview(admin_client, content, school=school))
    records = list(PracticeRecord.objects.values_list("pk", "version", "credited_minutes"))
    assert len(records) == 40
    again = preview(admin_client, content, school=school)
    assert again.summary == {"new": 0, "already": 40, "overlap": 0}
    confirm(admin_client, again)
    again.refresh_from_db()
    assert again.summary["credited"] == 0 and again.summary["already"] == 40
    assert list(PracticeRecord.objects.values_list("pk", "version", "credited_minutes")) == records
    assert PlatformRecord.objects.count() == 40
    # Confirming the first upload again does nothing either.
    confirm(admin_client, PlatformImport.objects.earliest("id"))
    assert PracticeRecord.objects.count() == 40


def test_a_changed_record_under_a_known_id_is_refused(admin_client, school, students):
    one = students[0]
    row = ["SH-1", "", one.student_number, one.name, "a", "b", "2026-03-02", "09:00", "10:00", ""]
    confirm(admin_client, preview(admin_client, xlsx(SHVOL_HEADER, [row]), school=school))
    row[8] = "11:00"
    item = preview(admin_client, xlsx(SHVOL_HEADER, [row]), school=school)
    assert [e["code"] for e in item.errors] == ["id_conflict"]


def test_200_rows_10_overlapping_roster_records_credit_190_and_flag_10(
    admin_client, admin, school, students
):
    rows = shvol_rows(students, 200)
    overlapped = rows[::20]  # 10 rows, 10 students
    for row in overlapped:
        student = next(s for s in students if s.student_number == row[2])
        roster_record(student, datetime.fromisoformat(f"{row[6]} 10:00"))
    before = {s.pk: progress_for_student(student=s).volunteer_minutes for s in students}
    item = preview(admin_client, xlsx(SHVOL_HEADER, rows), school=school)
    assert item.summary == {"new": 190, "already": 0, "overlap": 10}
    confirm(admin_client, item)
    item.refresh_from_db()
    assert item.status == PlatformImportStatus.IMPORTED
    assert (item.summary["credited"], item.summary["overlap"]) == (190, 10)
    assert PracticeRecord.objects.filter(recorded_via=RecordedVia.PLATFORM).count() == 190
    flagged = PlatformRecord.objects.filter(status=PlatformRecordStatus.OVERLAP)
    assert flagged.count() == 10 and not flagged.filter(record__isnull=False).exists()
    # Progress: each student gains exactly the platform rows that did not overlap.
    for student in students:
        credited_rows = sum(
            1 for r in rows if r[2] == student.student_number and r not in overlapped
        )
        after = progress_for_student(student=student).volunteer_minutes
        assert after == before[student.pk] + 120 * credited_rows
    # The school admins are told; the review page shows both sides.
    assert Notification.objects.filter(user=admin.user, code="platform.overlaps").exists()
    page = admin_client.get(reverse("students:platform-overlaps", args=[school.pk]))
    html = page.content.decode()
    assert html.count('data-testid="overlap"') == 10
    assert "图书馆整理" in html and "社区服务0" in html
    # Importing it again changes nothing: the flagged rows are known too.
    again = preview(admin_client, xlsx(SHVOL_HEADER, rows), school=school)
    assert again.summary == {"new": 0, "already": 200, "overlap": 0}
    confirm(admin_client, again)
    assert PracticeRecord.objects.count() == 200
    assert PlatformRecord.objects.count() == 200


def test_the_school_decides_each_overlap_with_a_reason(admin_client, admin, school, students):
    one, two, three = students[:3]
    existing = {s.pk: roster_record(s, datetime(2026, 3, 2, 10, 0)) for s in (one, two, three)}
    rows = [[f"SH-{s.pk}", "", s.student_number, s.name, "社区服务", "协会", "2026-03-02", "09:00",
             "11:00", ""] for s in (one, two, three)]  # fmt: skip
    confirm(admin_client, preview(admin_client, xlsx(SHVOL_HEADER, rows), school=school))
    item = {i.student_id: i for i in PlatformRecord.objects.all()}
    decide = lambda s, **data: admin_client.post(  # noqa: E731
        reverse("students:platform-overlap-decide", args=[item[s.pk].pk]), data
    )
    # A decision needs a reason; keeping both needs times that do not overlap.
    assert decide(one, decision="keep_existing", reason="").status_code == 400
    response = decide(three, decision="keep_both", reason="下午另一场",
                      started_at="2026-03-02T12:00", ended_at="2026-03-02T12:30")  # fmt: skip
    assert response.status_code == 302, response.context["form"].errors
    assert decide(one, decision="keep_existing", reason="同一次活动").status_code == 302
    assert decide(two, decision="take_new", reason="平台记录更准确").status_code == 302
    assert decide(two, decision="take_new", reason="again").status_code == 404  # decided

    statuses = {i.student_id: i.status for i in PlatformRecord.objects.all()}
    assert statuses == {one.pk: "kept_existing", two.pk: "took_new", three.pk: "kept_both"}
    assert not PracticeRecord.objects.filter(student=one, recorded_via="platform").exists()
    existing[two.pk].refresh_from_db()
    assert existing[two.pk].status == RecordStatus.REVOKED
    assert PracticeRecord.objects.get(student=two, recorded_via="platform").credited_minutes == 120
    kept = PracticeRecord.objects.get(student=three, recorded_via="platform")
    assert kept.credited_minutes == 30
    assert timezone.localtime(kept.started_at).strftime("%H:%M") == "12:00"
    assert AuditLog.objects.filter(action="platform_record.decide").count() == 3
    entry = AuditLog.objects.filter(action="platform_record.decide").latest("id")
    assert entry.data["reason"] == "平台记录更准确"
    page = admin_client.get(reverse("students:platform-overlaps", args=[school.pk]))
    assert 'data-testid="no-overlaps"' in page.content.decode()


def test_keeping_both_with_times_that_still_overlap_is_refused(admin_client, school, students):
    one = students[0]
    roster_record(one, datetime(2026, 3, 2, 10, 0))
    rows = [
        ["SH-1", "", one.student_number, one.name, "x", "y", "2026-03-02", "09:00", "11:00", ""]
    ]
    confirm(admin_client, preview(admin_client, xlsx(SHVOL_HEADER, rows), school=school))
    item = PlatformRecord.objects.get()
    response = admin_client.post(
        reverse("students:platform-overlap-decide", args=[item.pk]),
        {"decision": "keep_both", "reason": "r", "started_at": "2026-03-02T09:30",
         "ended_at": "2026-03-02T10:30"},
    )  # fmt: skip
    assert response.status_code == 400
    assert "already has a record at that time" in response.content.decode()
    item.refresh_from_db()
    assert item.status == PlatformRecordStatus.OVERLAP
    assert PracticeRecord.objects.count() == 1


def test_hostile_files_are_refused_by_the_guarded_reader(admin_client, school, students):
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/worksheets/sheet1.xml", "0" * (60 * 1024 * 1024))
    for content, expected in (
        (bomb.getvalue(), "Unpacked, the workbook would take"),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 100, "a PNG image"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "old Excel"),
    ):
        response = upload(admin_client, content, school=school)
        assert response.status_code == 400
        assert expected in response.content.decode()
    assert not PlatformImport.objects.exists()
    assert AuditLog.objects.filter(action="platform_import.refuse").count() == 3


def test_a_students_own_upload_waits_for_the_schools_review(admin, admin_client, school, students):
    client = other_client()
    one, two = students[:2]
    rows = [["SH-1", "", one.student_number, one.name, "敬老院", "协会", "2026-03-02", "09:00",
             "11:00", ""]]  # fmt: skip
    client.force_login(one.user)
    assert client.get(reverse("students:my-platform-imports")).status_code == 200
    response = upload(client, xlsx(SHVOL_HEADER, rows))
    assert response.status_code == 302
    item = PlatformImport.objects.latest("id")
    assert item.status == PlatformImportStatus.AWAITING_REVIEW and item.student == one
    page = client.get(item.get_absolute_url()).content.decode()
    assert 'data-testid="awaiting-note"' in page and 'data-testid="confirm-form"' not in page
    assert confirm(client, item).status_code == 404  # a student cannot confirm
    assert not PracticeRecord.objects.exists()
    assert Notification.objects.filter(user=admin.user, code="platform.to_review").exists()
    # Another student's row in one's own upload is refused with the reason.
    other = [["SH-2", "", two.student_number, two.name, "x", "y", "2026-03-03", "09:00", "10:00",
              ""]]  # fmt: skip
    upload(client, xlsx(SHVOL_HEADER, other))
    assert [e["code"] for e in PlatformImport.objects.latest("id").errors] == ["not_yours"]
    # Another student cannot see it.
    client.force_login(two.user)
    assert client.get(item.get_absolute_url()).status_code == 404
    # The school reviews and confirms it; the student is told.
    assert 'data-testid="reject-form"' in admin_client.get(item.get_absolute_url()).content.decode()
    confirm(admin_client, item)
    item.refresh_from_db()
    assert item.status == PlatformImportStatus.IMPORTED and item.confirmed_by == admin.user
    assert PracticeRecord.objects.get().student == one
    assert Notification.objects.filter(user=one.user, code="platform.reviewed").exists()


def test_the_school_may_reject_a_students_upload_with_a_reason(admin_client, school, students):
    client = other_client()
    one = students[0]
    rows = [
        ["SH-1", "", one.student_number, one.name, "a", "b", "2026-03-02", "09:00", "11:00", ""]
    ]
    client.force_login(one.user)
    upload(client, xlsx(SHVOL_HEADER, rows))
    item = PlatformImport.objects.latest("id")
    url = reverse("students:platform-import-reject", args=[item.pk])
    admin_client.post(url, {"reason": "平台截图不符"})
    item.refresh_from_db()
    assert item.status == PlatformImportStatus.REFUSED
    assert "平台截图不符" in message_text(item.errors[0])
    assert Notification.objects.filter(user=one.user, code="platform.rejected").exists()
    assert not PracticeRecord.objects.exists()


def test_another_schools_admin_sees_nothing(admin_client, school, students):
    client = other_client()
    one = students[0]
    rows = [
        ["SH-1", "", one.student_number, one.name, "a", "b", "2026-03-02", "09:00", "11:00", ""]
    ]
    item = preview(admin_client, xlsx(SHVOL_HEADER, rows), school=school)
    client.force_login(SchoolAdminFactory().user)
    assert client.get(item.get_absolute_url()).status_code == 404
    assert confirm(client, item).status_code == 404
    assert client.get(reverse("students:platform-overlaps", args=[school.pk])).status_code == 404
    assert client.get(reverse("students:platform-imports", args=[school.pk])).status_code == 404
    assert not PracticeRecord.objects.exists()


def test_the_template_downloads_and_imports_as_generic(admin_client, school, students):
    from openpyxl import load_workbook

    response = admin_client.get(reverse("students:platform-template"))
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.content))
    assert [c.value for c in book["records"][1]][:3] == ["record_id", "student_number",
                                                         "volunteer_number"]  # fmt: skip
    assert book["instructions"]["A1"].value


def test_headers_are_matched_whatever_their_order_spacing_width_or_unit(
    admin_client, school, students
):
    one, two = students[:2]
    # 志愿汇-style with the columns shuffled, full-width letters, spaces, units and marks.
    header = (" 签退时间 ", "*学籍号", "活动 名称", "流水号：", "志愿时长（小时）", "签到时间",
              "记录备注")  # fmt: skip
    rows = [["2026-03-03 10:00", one.student_number, "河道清洁", "ZYH-1", "1", "2026-03-03 09:00",
             "ignored"]]  # fmt: skip
    item = preview(admin_client, xlsx(header, rows), school=school, platform="zyh")
    assert item.status == PlatformImportStatus.PREVIEWED, item.errors
    # 志愿云-style naming the generic fields (English, any case) and full-width Ｉ Ｄ.
    header = ("Record ID", "STUDENT-NUMBER", "活动名称", "服务日期", "服务开始时间", "服务结束时间")
    rows = [["SH-9", two.student_number, "敬老院", "2026-03-04", "13:00", "14:30"]]
    item2 = preview(admin_client, xlsx(header, rows), school=school, platform="shvol")
    assert item2.status == PlatformImportStatus.PREVIEWED, item2.errors
    confirm(admin_client, item)
    confirm(admin_client, item2)
    minutes = dict(PracticeRecord.objects.values_list("student_id", "credited_minutes"))
    assert minutes == {one.pk: 60, two.pk: 90}
