"""A school admin onboards the school from one roster sheet: preview with every bad row and
field, nothing written until confirmed, the same sheet again changes nothing, a student no
longer named is marked as left (never deleted), hostile files refused by the guarded reader,
logins with one-time codes on per-class slips, head teachers resetting only their own class."""

import io
import zipfile

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from pypdf import PdfReader

from portal.activation import activation_code_check, activation_codes_issue
from portal.messages import message_text
from portal.models import ActivationCode, AuditLog, Role, User
from students.models import RosterImport, SchoolClass, Student, TeacherAssignment, TeacherRole
from tests.factories import (
    HeadTeacherFactory,
    SchoolAdminFactory,
    SchoolClassFactory,
    SchoolFactory,
    StudentFactory,
)
from tests.students.roster_helpers import roster_xlsx, school_rows, student_row, teacher_row

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "Sh4nghai-spring-2026"


@pytest.fixture
def client(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


@pytest.fixture
def admin_of():
    assignment = SchoolAdminFactory(school=SchoolFactory(name="上海市徐汇中学"))
    return assignment


@pytest.fixture
def school(admin_of):
    return admin_of.school


@pytest.fixture
def admin_client(client, admin_of):
    client.force_login(admin_of.user)
    return client


def upload(client, school, content: bytes, name: str = "roster.xlsx"):
    return client.post(
        reverse("students:roster", args=[school.pk]),
        {"file": SimpleUploadedFile(name, content)},
    )


def preview(client, school, rows) -> RosterImport:
    response = upload(client, school, roster_xlsx(rows))
    assert response.status_code == 302, response.content.decode()[:2000]
    return RosterImport.objects.latest("id")


def confirm(client, school, item: RosterImport):
    return client.post(reverse("students:roster-import-confirm", args=[school.pk, item.pk]))


def test_preview_names_every_bad_row_and_field_and_writes_nothing(admin_client, school):
    rows = [
        student_row("G20250001", "张三"),
        student_row("123", "李四"),  # bad 学籍号
        {
            "kind": "pupil",
            "student_number": "G20250003",
            "name": "王五",
            "entry_year": 2025,
            "class_number": 1,
        },  # fmt: skip
        student_row("G20250004", "", cls=120),  # empty name, class out of range
        student_row("G20250001", "张三重复"),  # duplicate
        student_row("G20250006", "赵六", gender="X", email="not-an-address"),
        teacher_row("a", "钱老师"),  # username too short
    ]
    item = preview(admin_client, school, rows)
    page = admin_client.get(reverse("students:roster-import", args=[school.pk, item.pk]))
    text = page.content.decode()
    found = {(e["row"], e["column"]) for e in item.errors}
    assert found == {
        (3, "student_number"),
        (4, "kind"),
        (5, "name"),
        (5, "class_number"),
        (6, "student_number"),
        (7, "gender"),
        (7, "email"),
        (8, "username"),
    }
    assert "is not a student number" in text and "The same student number is on row 2" in text
    assert 'data-testid="confirm-form"' not in text
    assert not Student.objects.exists() and not SchoolClass.objects.exists()
    assert User.objects.count() == 1  # the admin only


def test_preview_is_in_chinese_by_default(client, admin_of, school):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    client.force_login(admin_of.user)
    item = preview(client, school, [student_row("123", "李四")])
    assert "不是有效的学籍号" in message_text(item.errors[0])


def test_confirm_creates_classes_students_teachers_and_logins(admin_client, school):
    item = preview(admin_client, school, school_rows(classes=3, per_class=3))
    assert item.summary["students_created"] == 9
    assert item.summary["classes_created"] == 3
    assert item.summary["teachers_created"] == 3
    assert item.summary["logins_created"] == 12
    assert not Student.objects.exists()  # the preview wrote nothing

    response = confirm(admin_client, school, item)
    assert response.status_code == 302
    item.refresh_from_db()
    assert item.status == "imported"
    assert SchoolClass.objects.filter(school=school).count() == 3
    student = Student.objects.get(student_number="G2025010001")
    assert student.school_class.number == 1 and student.gender == "female"
    assert student.guardian_contact == "13800000101"
    assert student.user.username == "G2025010001" and student.user.role == Role.STUDENT
    assert not student.user.has_usable_password()
    head = TeacherAssignment.objects.get(school_class__number=2, role=TeacherRole.HEAD_TEACHER)
    assert head.user.username == "teacher02" and head.user.role == Role.HEAD_TEACHER
    assert AuditLog.objects.filter(action="roster_import.confirm", object_id=str(item.pk)).exists()


def test_the_same_sheet_again_changes_nothing(admin_client, school):
    content = roster_xlsx(school_rows(classes=2, per_class=2))
    upload(admin_client, school, content)
    confirm(admin_client, school, RosterImport.objects.latest("id"))
    before = (User.objects.count(), Student.objects.count(), TeacherAssignment.objects.count())

    upload(admin_client, school, content)
    again = RosterImport.objects.latest("id")
    page = admin_client.get(reverse("students:roster-import", args=[school.pk, again.pk]))
    assert again.summary["unchanged"] == 6
    assert sum(v for k, v in again.summary.items() if k != "unchanged") == 0
    assert 'data-testid="same-file"' in page.content.decode()
    confirm(admin_client, school, again)
    after = (User.objects.count(), Student.objects.count(), TeacherAssignment.objects.count())
    assert after == before


def test_a_student_missing_from_the_roster_is_marked_left_never_deleted(admin_client, school):
    rows = school_rows(classes=1, per_class=3)
    confirm(admin_client, school, preview(admin_client, school, rows))
    leaver = Student.objects.get(student_number="G2025010003")

    item = preview(admin_client, school, rows[:-1])
    assert item.summary["students_left"] == 1
    confirm(admin_client, school, item)
    leaver.refresh_from_db()
    assert leaver.left_on is not None
    assert not leaver.user.is_active  # the login is closed, the student kept
    assert Student.objects.count() == 3

    back = preview(admin_client, school, rows)
    assert back.summary["students_returned"] == 1
    confirm(admin_client, school, back)
    leaver.refresh_from_db()
    assert leaver.left_on is None and leaver.user.is_active


def test_changes_are_applied_and_a_head_teacher_moves(admin_client, school):
    rows = school_rows(classes=2, per_class=1)
    confirm(admin_client, school, preview(admin_client, school, rows))
    rows[1]["name"] = "张新名"
    rows[1]["class_number"] = 2
    rows[0]["class_number"], rows[2]["class_number"] = 2, 1  # the two head teachers swap
    item = preview(admin_client, school, rows)
    assert item.summary["students_changed"] == 1 and item.summary["teachers_changed"] == 2
    confirm(admin_client, school, item)
    student = Student.objects.get(student_number="G2025010001")
    assert student.name == "张新名" and student.school_class.number == 2
    assert student.user.full_name == "张新名"
    heads = dict(
        TeacherAssignment.objects.filter(role=TeacherRole.HEAD_TEACHER).values_list(
            "school_class__number", "user__username"
        )
    )
    assert heads == {1: "teacher02", 2: "teacher01"}


def test_a_student_of_another_school_or_a_taken_username_is_refused(admin_client, school):
    other = StudentFactory(student_number="G20259999")
    HeadTeacherFactory(user__username="busyteacher")
    item = preview(
        admin_client,
        school,
        [student_row(other.student_number, "冒名"), teacher_row("busyteacher", "别校老师")],
    )
    codes = {(e["column"], e["code"]) for e in item.errors}
    assert codes == {("student_number", "other_school"), ("username", "username_taken")}
    assert other.school_class.school != school


def test_hostile_files_are_refused_by_the_guarded_reader(admin_client, school):
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/worksheets/sheet1.xml", "0" * (60 * 1024 * 1024))
    for content, expected in (
        (bomb.getvalue(), "Unpacked, the workbook would take"),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 100, "a PNG image"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "old Excel"),
    ):
        response = upload(admin_client, school, content)
        assert response.status_code == 400
        assert expected in response.content.decode()
    assert not RosterImport.objects.exists()
    assert AuditLog.objects.filter(action="roster_import.refuse").count() == 3


def test_only_the_school_admin_of_the_school_sees_its_roster(client, school):
    for user in (
        SchoolAdminFactory().user,  # another school's admin
        HeadTeacherFactory(school_class=SchoolClassFactory(school=school)).user,
        StudentFactory().user,
    ):
        client.force_login(user)
        assert client.get(reverse("students:roster", args=[school.pk])).status_code == 404
        assert client.get(reverse("students:roster-template", args=[school.pk])).status_code == 404


def test_the_template_documents_its_columns(admin_client, school):
    from openpyxl import load_workbook

    response = admin_client.get(reverse("students:roster-template", args=[school.pk]))
    book = load_workbook(io.BytesIO(response.content), read_only=True)
    assert book.sheetnames == ["roster", "classes", "instructions"]
    header = next(book["roster"].iter_rows(values_only=True))
    assert header[:4] == ("kind", "student_number", "username", "name")
    lines = " ".join(str(r[0]) for r in book["instructions"].iter_rows(values_only=True))
    assert "marked as left" in lines and "学籍号" in lines


def test_chinese_headers_are_accepted(admin_client, school):
    from portal.spreadsheets import Sheet, write_workbook

    content = write_workbook(
        [
            Sheet(
                "roster",
                ("类型", "学籍号", "登录名", "姓名", "入学年份", "班号", "性别"),
                [("学生", "G20251234", "", "孙七", 2025, 3, "男"),
                 ("班主任", "", "liteacher", "李老师", 2025, 3, "")],
            )
        ]
    )  # fmt: skip
    upload(admin_client, school, content)
    item = RosterImport.objects.latest("id")
    assert item.errors == [] and item.summary["students_created"] == 1
    assert item.summary["teachers_created"] == 1


# ------------------------------------------------------------------------------
# Logins: slips, activation, first sign-in, reset
# ------------------------------------------------------------------------------
def slips_text(response) -> str:
    assert response["Content-Type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(response.content))
    return "".join(page.extract_text() for page in reader.pages)


@pytest.fixture
def onboarded(admin_client, school):
    confirm(admin_client, school, preview(admin_client, school, school_rows(2, 2)))
    return SchoolClass.objects.get(school=school, number=1)


def codes_in(text: str) -> list[str]:
    import re

    return re.findall(r"\b[A-Z2-9]{4}-[A-Z2-9]{4}\b", text)


def test_class_slips_pdf_has_the_chinese_names_and_fresh_codes(admin_client, onboarded):
    response = admin_client.post(reverse("students:class-login-slips", args=[onboarded.pk]))
    text = slips_text(response)
    for student in Student.objects.filter(school_class=onboarded):
        assert student.name in text and student.student_number in text
    assert "teacher01" in text
    assert len(codes_in(text)) == 3  # two students and the head teacher
    assert "/accounts/activate/" in text
    assert ActivationCode.objects.filter(used_at=None, revoked_at=None).count() == 3
    # Printing again replaces the codes: the first ones no longer work.
    admin_client.post(reverse("students:class-login-slips", args=[onboarded.pk]))
    assert ActivationCode.objects.filter(used_at=None, revoked_at=None).count() == 3
    assert ActivationCode.objects.exclude(revoked_at=None).count() == 3
    assert AuditLog.objects.filter(action="activation.issue").count() == 6


def test_slips_only_for_the_school_admin_or_the_class_head_teacher(client, onboarded):
    other_head = TeacherAssignment.objects.get(school_class__number=2).user
    own_head = TeacherAssignment.objects.get(school_class=onboarded).user
    url = reverse("students:class-login-slips", args=[onboarded.pk])
    for user in (other_head, SchoolAdminFactory().user, StudentFactory().user):
        client.force_login(user)
        assert client.post(url).status_code == 404
    client.force_login(own_head)
    assert client.post(url).status_code == 200


def activate(client, username, code, password=NEW_PASSWORD):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"  # logout() drops the cookies
    return client.post(
        reverse("activate"),
        {"username": username, "code": code, "password1": password, "password2": password},
    )


def test_activation_with_the_slips_code_sets_a_password_and_signs_in(
    admin_client, client, onboarded
):
    student = Student.objects.filter(school_class=onboarded).first()
    text = slips_text(admin_client.post(reverse("students:class-login-slips", args=[onboarded.pk])))
    code = codes_in(text.split(student.student_number, 1)[1])[0]
    admin_client.logout()

    weak = activate(client, student.student_number, code, password="12345678")
    assert weak.status_code == 400 and "entirely numeric" in weak.content.decode()
    response = activate(client, student.student_number, code.lower().replace("-", " "))
    assert response.status_code == 302
    assert client.get(reverse("dashboards:dashboard"), follow=True).status_code == 200
    student.user.refresh_from_db()
    assert student.user.check_password(NEW_PASSWORD)
    assert AuditLog.objects.filter(action="activation.use", object_id=str(student.user_id))

    client.logout()
    again = activate(client, student.student_number, code, password="Another-pass-2026")
    assert again.status_code == 400 and "do not match" in again.content.decode()
    assert client.login(username=student.student_number, password=NEW_PASSWORD)


def test_a_code_of_one_user_does_not_open_another(onboarded):
    first, second = Student.objects.filter(school_class=onboarded)[:2]
    codes = activation_codes_issue(users=[first.user, second.user], issued_by=None)
    with pytest.raises(Exception, match="do not match"):
        activation_code_check(username=second.user.username, code=codes[first.user_id])


@pytest.fixture
def fresh_cache():
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


def test_wrong_codes_are_throttled_then_even_the_right_one_waits(client, onboarded, fresh_cache):
    from portal.activation import ACTIVATION_TRIES_PER_HOUR

    student = Student.objects.filter(school_class=onboarded).first()
    code = activation_codes_issue(users=[student.user], issued_by=None)[student.user_id]
    for _attempt in range(ACTIVATION_TRIES_PER_HOUR):
        assert activate(client, student.student_number, "AAAA-AAAA").status_code == 400
    response = activate(client, student.student_number, code)
    assert response.status_code == 400 and "Too many wrong" in response.content.decode()
    student.user.refresh_from_db()
    assert not student.user.has_usable_password()


def test_a_user_who_must_change_their_password_is_sent_to_the_change_page(client):
    user = StudentFactory().user
    user.must_change_password = True
    user.save()
    client.force_login(user)
    response = client.get(reverse("dashboards:dashboard"))
    assert response.status_code == 302 and response["Location"] == reverse("password_change")
    page = client.get(reverse("password_change"))
    assert 'data-testid="must-change"' in page.content.decode()
    done = client.post(
        reverse("password_change"),
        {"old_password": "pass12345", "new_password1": NEW_PASSWORD,
         "new_password2": NEW_PASSWORD},
    )  # fmt: skip
    assert done.status_code == 302
    user.refresh_from_db()
    assert not user.must_change_password
    assert client.get(reverse("dashboards:dashboard")).status_code in (200, 302)
    assert client.get(reverse("dashboards:dashboard"))["Location"] != reverse("password_change")


def test_head_teacher_resets_a_student_of_their_own_class_only(client, onboarded):
    head = TeacherAssignment.objects.get(school_class=onboarded).user
    own = Student.objects.filter(school_class=onboarded).first()
    own.user.set_password("Old-password-2026")
    own.user.save()
    foreign = Student.objects.exclude(school_class=onboarded).first()
    client.force_login(head)

    assert (
        client.post(reverse("students:student-login-reset", args=[foreign.pk])).status_code == 404
    )
    response = client.post(reverse("students:student-login-reset", args=[own.pk]))
    assert response.status_code == 200
    assert (
        response["Cache-Control"].startswith("max-age=0") or "no-cache" in response["Cache-Control"]
    )
    code = codes_in(response.content.decode())[0]
    own.user.refresh_from_db()
    assert not own.user.check_password("Old-password-2026")
    assert AuditLog.objects.filter(action="activation.reset", object_id=str(own.user_id))
    client.logout()
    assert activate(client, own.user.username, code).status_code == 302

    # The school admin sees the logins page but cannot reset; a PDF slip for a reset works.
    client.force_login(head)
    pdf = client.post(reverse("students:student-login-reset", args=[own.pk]), {"format": "pdf"})
    assert own.name in slips_text(pdf)


def test_school_admin_cannot_reset_passwords(admin_client, onboarded):
    student = Student.objects.filter(school_class=onboarded).first()
    url = reverse("students:student-login-reset", args=[student.pk])
    assert admin_client.post(url).status_code == 404
    page = admin_client.get(reverse("students:class-logins", args=[onboarded.pk]))
    assert page.status_code == 200 and student.name in page.content.decode()


# ------------------------------------------------------------------------------
# The district admin for the district's school admins, the city admin for district admins
# ------------------------------------------------------------------------------
def test_district_admin_prints_slips_and_resets_the_districts_school_admins(client):
    from tests.factories import DistrictAdminFactory, UserFactory, district

    own = SchoolAdminFactory(
        user=UserFactory(username="xuhuiadmin", full_name="徐汇管理员", role=Role.SCHOOL_ADMIN),
        school=SchoolFactory(name="上海市南洋模范中学", district=district("310104")),
    )
    own.user.set_unusable_password()
    own.user.save()
    other = SchoolAdminFactory(school=SchoolFactory(district=district("310101")))
    head = DistrictAdminFactory(district=district("310104"))
    client.force_login(head.user)
    url = reverse("students:school-admin-logins", args=[district("310104").pk])
    page = client.get(url).content.decode()
    assert "xuhuiadmin" in page and other.user.username not in page

    text = slips_text(client.post(url))
    assert "徐汇管理员" in text and "上海市南洋模范中学" in text and len(codes_in(text)) == 1
    assert client.post(url, {"reset": other.user.pk}).status_code == 404
    reset = client.post(url, {"reset": own.user.pk})
    code = codes_in(reset.content.decode())[0]
    client.logout()
    assert activate(client, "xuhuiadmin", code).status_code == 302

    # Another district's page, and a school admin, get 404.
    client.force_login(head.user)
    assert (
        client.get(
            reverse("students:school-admin-logins", args=[district("310101").pk])
        ).status_code
        == 404
    )
    own.user.refresh_from_db()  # activated: a new password
    client.force_login(own.user)
    assert client.get(url).status_code == 404
    assert client.get(reverse("students:district-admin-logins")).status_code == 404


def test_city_admin_prints_slips_for_district_admins(client):
    from tests.factories import DistrictAdminFactory, UserFactory

    district_admin = DistrictAdminFactory(user__full_name="黄浦区管理员")
    district_admin.user.set_unusable_password()
    district_admin.user.save()
    client.force_login(UserFactory(role=Role.CITY_ADMIN))
    url = reverse("students:district-admin-logins")
    assert "黄浦区管理员" in client.get(url).content.decode()
    text = slips_text(client.post(url))
    assert "黄浦区管理员" in text and len(codes_in(text)) == 1
    client.force_login(district_admin.user)
    assert client.get(url).status_code == 404
