"""The admin: every model's pages, list pages without N+1 queries, and sheet imports that
list each bad row and write nothing until the whole sheet is good."""

import html
import io
import itertools
import re
from datetime import date, datetime, timedelta

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from openpyxl import Workbook, load_workbook

from bases.models import Attendance, AttendanceScan, Base, ClassReservation, Session
from evaluation_export.models import ExportBatch, ExportedLine
from portal.admin import ReadOnlyAdmin
from portal.models import AuditLog, Notification, Role, User
from portal.services import audit_log_record
from students.models import (
    Dispute,
    PracticeRecord,
    RecordedVia,
    School,
    SchoolYearClose,
    Student,
)
from students.services import RecordFacts, practice_record_correct, practice_record_upsert
from tests.factories import (
    ApplicationFactory,
    BaseFactory,
    CoordinatorFactory,
    DistrictAdminFactory,
    HeadTeacherFactory,
    PostFactory,
    SchoolClassFactory,
    SchoolContractFactory,
    SchoolFactory,
    SessionFactory,
    StudentFactory,
    UserFactory,
    category,
    district,
)

pytestmark = pytest.mark.django_db

OUR_APPS = {"portal", "districts", "students", "bases", "evaluation_export"}
STUDENT_HEADERS = ["student_number", "name", "school_code", "entry_year", "class_number"]
XLSX, CSV = "0", "1"  # positions in SheetImportExportAdmin.formats


@pytest.fixture
def staff_client(client):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


RECORD_IDS = itertools.count(1)


def record(student=None):
    n = next(RECORD_IDS)
    start = timezone.make_aware(datetime(2026, 10, 10, 9, 0)) + timedelta(days=n)
    facts = RecordFacts(
        student=student or StudentFactory(),
        category=category(),
        title="图书管理员",
        organiser_name="徐汇区图书馆",
        organiser_level="district",
        district=district(),
        started_at=start,
        ended_at=start + timedelta(hours=3),
        credited_minutes=180,
        recorded_via=RecordedVia.ROSTER,
    )
    return practice_record_upsert(source_ref=f"test:{n}", facts=facts, recorded_by=None)[0]


_school_years = itertools.count(2000)


def school_year_close(year: int) -> SchoolYearClose:
    return SchoolYearClose.objects.create(
        school_year=year,
        closed_on=date(year + 1, 7, 1),
        graduating_entry_year=year - 2,
        grace_days=90,
        logins_disable_on=date(year + 1, 9, 29),
    )


BUILDERS = {
    "portal.user": UserFactory,
    "portal.auditlog": lambda: audit_log_record(
        actor=UserFactory(), action="test", target=SchoolFactory()
    ),
    "portal.notification": lambda: Notification.objects.create(user=UserFactory(), message="hi"),
    "districts.districtadmin": DistrictAdminFactory,
    "students.school": SchoolFactory,
    "students.schoolclass": SchoolClassFactory,
    "students.teacherassignment": HeadTeacherFactory,
    "students.student": StudentFactory,
    "students.practicerecord": record,
    "students.practicerecordversion": record,
    "students.dispute": lambda: Dispute.objects.create(
        record=record(), raised_by=UserFactory(), reason="时间不对"
    ),
    "students.schoolyearclose": lambda: school_year_close(next(_school_years)),
    "bases.base": BaseFactory,
    "bases.schoolcontract": SchoolContractFactory,
    "bases.coordinator": CoordinatorFactory,
    "bases.post": PostFactory,
    "bases.session": SessionFactory,
    "bases.classreservation": lambda: ClassReservation.objects.create(
        session=SessionFactory(),
        school_class=SchoolClassFactory(),
        seats=3,
        release_at=timezone.now(),
    ),
    "bases.application": ApplicationFactory,
    "bases.attendance": lambda: Attendance.objects.create(
        session=SessionFactory(), student=StudentFactory(), walk_in_reason="临时加入"
    ),
    "bases.attendancescan": lambda: AttendanceScan.objects.create(
        nonce=f"nonce-{AttendanceScan.objects.count():06d}",
        session=SessionFactory(),
        student=StudentFactory(),
        kind="in",
        happened_at=timezone.now(),
        source=RecordedVia.SCAN,
        payload_digest="0" * 64,
    ),
    "evaluation_export.exportedline": lambda: ExportedLine.objects.create(
        batch=ExportBatch.objects.create(period=f"p{ExportBatch.objects.count()}", kind="delta"),
        batch_kind="delta",
        record=record(),
        version=1,
        operation="new",
    ),
}


def our_models():
    return sorted(
        (m for m in admin.site._registry if m._meta.app_label in OUR_APPS),
        key=lambda m: m._meta.label_lower,
    )


def admin_url(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


class TestEveryModel:
    def test_every_model_of_the_portal_has_an_admin(self):
        models = {m for m in apps.get_models() if m._meta.app_label in OUR_APPS}
        assert models == set(our_models())

    @pytest.mark.parametrize("model", our_models(), ids=lambda m: m._meta.label_lower)
    def test_its_list_search_and_add_pages_open(self, staff_client, model):
        assert staff_client.get(admin_url(model, "changelist")).status_code == 200
        assert staff_client.get(admin_url(model, "changelist"), {"q": "x"}).status_code == 200
        add = staff_client.get(admin_url(model, "add"))
        read_only = isinstance(admin.site._registry[model], ReadOnlyAdmin)
        assert add.status_code == (403 if read_only else 200)

    @pytest.mark.parametrize("label", sorted(BUILDERS))
    def test_its_list_page_makes_the_same_number_of_queries_for_more_rows(
        self, staff_client, label
    ):
        model = apps.get_model(label)
        BUILDERS[label]()
        url = admin_url(model, "changelist")
        with CaptureQueriesContext(connection) as few:
            assert staff_client.get(url).status_code == 200
        for _ in range(4):
            BUILDERS[label]()
        with CaptureQueriesContext(connection) as many:
            response = staff_client.get(url)
        assert response.status_code == 200
        assert len(many) == len(few), [q["sql"] for q in many]
        change = staff_client.get(admin_url(model, "change", model.objects.last().pk))
        assert change.status_code == 200


class TestPages:
    def test_the_user_form_has_role_and_full_name(self, staff_client):
        user = UserFactory(full_name="王老师", role=Role.HEAD_TEACHER)
        page = staff_client.get(admin_url(User, "change", user.pk)).content.decode()
        assert 'name="full_name"' in page and 'name="role"' in page

        staff_client.post(
            admin_url(User, "add"),
            {
                "username": "newteacher",
                "full_name": "李老师",
                "role": Role.SCHOOL_ADMIN,
                "password1": "x-Very-long-pass-123",
                "password2": "x-Very-long-pass-123",
                "usable_password": "true",
            },
        )
        created = User.objects.get(username="newteacher")
        assert (created.full_name, created.role) == ("李老师", Role.SCHOOL_ADMIN)

    def test_the_audit_log_can_be_read_but_not_changed(self, staff_client):
        entry = audit_log_record(actor=None, action="record.create", target=SchoolFactory())
        url = admin_url(AuditLog, "change", entry.pk)

        assert "record.create" in staff_client.get(url).content.decode()
        staff_client.post(url, {"action": "forged"})
        assert staff_client.post(admin_url(AuditLog, "delete", entry.pk)).status_code == 403
        entry.refresh_from_db()
        assert entry.action == "record.create"

    def test_a_record_shows_its_versions_read_only(self, staff_client):
        rec = record()
        practice_record_correct(
            record=rec,
            started_at=rec.started_at,
            ended_at=rec.ended_at,
            credited_minutes=120,
            changed_by=UserFactory(),
            reason="迟到一小时",
        )
        page = staff_client.get(admin_url(PracticeRecord, "change", rec.pk)).content.decode()

        assert "迟到一小时" in page
        assert 'name="versions-0-reason"' not in page  # shown, not editable
        assert "versions-__prefix__" not in page  # and no blank row to add one

    def test_a_base_shows_its_school_contracts(self, staff_client):
        contract = SchoolContractFactory(school=SchoolFactory(name="上海中学"))
        page = staff_client.get(admin_url(Base, "change", contract.base.pk)).content.decode()
        assert 'name="contracts-TOTAL_FORMS"' in page
        assert "contracts-__prefix__" in page  # contracts can be added here
        assert "上海中学" in page

    def test_sessions_can_be_filtered_by_timing(self, staff_client):
        SessionFactory(post=PostFactory(title="未来岗位"))
        url = admin_url(Session, "changelist")
        assert "未来岗位" in staff_client.get(url, {"timing": "upcoming"}).content.decode()
        assert "未来岗位" not in staff_client.get(url, {"timing": "ended"}).content.decode()


def xlsx(headers, *rows) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(headers)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def csv(headers, *rows) -> bytes:
    lines = [",".join(headers)] + [",".join(str(v) for v in row) for row in rows]
    return ("\n".join(lines) + "\n").encode()


def upload(client, model, name, content, fmt):
    return client.post(
        admin_url(model, "import"),
        {"resource": "0", "format": fmt, "import_file": SimpleUploadedFile(name, content)},
    )


def confirm(client, model, preview):
    return client.post(admin_url(model, "process_import"), preview.context["confirm_form"].initial)


def error_table(response) -> dict[int, dict[str, list[str]]]:
    """The validation table of the import page: row number -> column -> messages."""
    table = {}
    page = response.content.decode()
    for number, cell in re.findall(
        r'<tr>\s*<td>(\d+) </td>\s*<td class="errors">(.*?)</td>', page, re.S
    ):
        fields = re.findall(
            r'class="validation-error-field-label">(.*?)</span>\s*<ul>(.*?)</ul>', cell, re.S
        )
        table[int(number)] = {
            label: [html.unescape(m.strip()) for m in re.findall(r"<li>(.*?)</li>", items, re.S)]
            for label, items in fields
        }
    return table


@pytest.fixture
def class_0123():
    return SchoolClassFactory(school=SchoolFactory(code="0123"), entry_year=2025, number=1)


GOOD_ROWS = (
    ["G310101200901011234", "张三", "0123", "2025", "1"],
    ["G310101200901011235", "李四", "0123", "2025", "1"],
)


class TestStudentImport:
    def test_a_bad_sheet_lists_each_bad_row_and_column_and_writes_nothing(
        self, staff_client, class_0123
    ):
        content = xlsx(
            STUDENT_HEADERS,
            ["G310101200901011234", "张三", "0123", 2025, 1],
            [310101200901011299, "李四", "0123", 2025, 1],
            ["G310101200901011236", "王五", "9999", 2025, 1],
            ["G310101200901011234", "张三丰", "0123", 2025, 1],
            ["G310101200901011237", "", 123, 2025, 1],
        )

        response = upload(staff_client, Student, "students.xlsx", content, XLSX)

        assert response.status_code == 200
        table = error_table(response)
        assert sorted(table) == [2, 3, 4, 5]
        assert "turned this identifier into a number" in table[2]["student_number"][0]
        assert table[3] == {"school_code": ["No school has the code 9999."]}
        assert table[4] == {
            "student_number": ["The same student_number is already on row 1 of this sheet."]
        }
        assert table[5]["name"] == ["This cell is empty; a value is required."]
        assert "turned this identifier into a number (123)" in table[5]["school_code"][0]
        assert "confirm_form" not in response.context
        assert admin_url(Student, "process_import") not in response.content.decode()
        assert Student.objects.count() == 0

    def test_a_good_sheet_is_previewed_then_confirmed_and_a_second_upload_changes_nothing(
        self, staff_client, class_0123
    ):
        preview = upload(
            staff_client, Student, "students.csv", csv(STUDENT_HEADERS, *GOOD_ROWS), CSV
        )
        assert error_table(preview) == {}
        assert Student.objects.count() == 0  # the preview is a dry run

        done = confirm(staff_client, Student, preview)

        assert done.status_code == 302
        assert sorted(Student.objects.values_list("student_number", "name")) == [
            ("G310101200901011234", "张三"),
            ("G310101200901011235", "李四"),
        ]
        before = list(Student.objects.order_by("pk").values())

        again = upload(staff_client, Student, "students.csv", csv(STUDENT_HEADERS, *GOOD_ROWS), CSV)
        assert [row.import_type for row in again.context["result"].rows] == ["skip", "skip"]
        confirm(staff_client, Student, again)
        assert list(Student.objects.order_by("pk").values()) == before

    def test_a_sheet_that_became_invalid_before_confirm_writes_nothing(
        self, staff_client, class_0123
    ):
        preview = upload(
            staff_client, Student, "students.csv", csv(STUDENT_HEADERS, *GOOD_ROWS), CSV
        )
        class_0123.delete()  # someone removes the class between preview and confirm

        response = confirm(staff_client, Student, preview)

        assert response.status_code == 200
        table = error_table(response)
        assert sorted(table) == [1, 2]
        assert "has no class" in table[1]["class_number"][0]
        assert "Nothing was imported" in response.content.decode()
        assert Student.objects.count() == 0
        assert LogEntry.objects.count() == 0

    def test_an_xlsx_export_keeps_identifiers_as_text(self, staff_client, class_0123):
        StudentFactory(student_number="0310101200901011234", school_class=class_0123)
        columns = ["student_number", "name", "school_code", "entry_year", "class_number"]

        response = staff_client.post(
            admin_url(Student, "export"),
            {"format": XLSX, "resource": "0", **{f"studentresource_{c}": "on" for c in columns}},
        )

        sheet = load_workbook(io.BytesIO(response.content)).active
        header, row = [[cell.value for cell in line] for line in sheet.iter_rows()]
        assert header == columns
        assert row[0] == "0310101200901011234" and row[2] == "0123"

    def test_a_staff_member_who_may_only_view_students_cannot_import_them(self, client):
        viewer = UserFactory(is_staff=True)
        viewer.user_permissions.add(Permission.objects.get(codename="view_student"))
        client.force_login(viewer)

        assert client.get(admin_url(Student, "changelist")).status_code == 200
        assert client.get(admin_url(Student, "import")).status_code == 403


class TestOtherImports:
    def test_a_base_sheet_with_a_numeric_code_lists_the_row_and_writes_nothing(self, staff_client):
        headers = ["code", "name", "level", "district_code", "status", "certified_until"]
        content = xlsx(
            headers,
            ["XH-LIB-01", "徐汇区图书馆", "district", "310104", "certified", "2027-06-30"],
            [42, "数字基地", "district", "310104", "pending", None],
        )

        response = upload(staff_client, Base, "bases.xlsx", content, XLSX)

        assert list(error_table(response)) == [2]
        assert "turned this identifier into a number (42)" in error_table(response)[2]["code"][0]
        assert Base.objects.count() == 0

    def test_a_school_sheet_imports_once_and_then_is_skipped(self, staff_client):
        content = csv(["code", "name", "district_code"], ["0123", "上海市第一中学", "310104"])
        first = upload(staff_client, School, "schools.csv", content, CSV)
        confirm(staff_client, School, first)
        again = upload(staff_client, School, "schools.csv", content, CSV)

        assert [row.import_type for row in again.context["result"].rows] == ["skip"]
        assert School.objects.filter(code="0123").count() == 1
