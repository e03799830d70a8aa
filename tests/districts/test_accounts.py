"""Admins' accounts from a sheet: the district admin's school admins, the city admin's district
admins; a preview by row and field, nothing written until confirmed, the same sheet twice
changes nothing, and each new login opens with the code of its printed slip."""

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from districts.models import AccountImport, AccountImportStatus, DistrictAdmin
from portal.models import Role, User
from portal.spreadsheets import Sheet, write_workbook
from students.models import TeacherAssignment, TeacherRole
from tests.factories import (
    DistrictAdminFactory,
    SchoolFactory,
    StudentFactory,
    UserFactory,
    district,
)
from tests.students.test_roster import activate, codes_in, slips_text

pytestmark = pytest.mark.django_db

HEADER = ["学校代码", "用户名", "姓名", "邮箱"]


def sheet(rows, header=HEADER) -> bytes:
    return write_workbook([Sheet("admins", header, rows)])


@pytest.fixture
def client(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


@pytest.fixture
def xuhui():
    return district("310104")


@pytest.fixture
def schools(xuhui):
    return [
        SchoolFactory(code="0410001", name="上海市南洋模范中学", district=xuhui),
        SchoolFactory(code="0410002", name="上海市位育中学", district=xuhui),
    ]


@pytest.fixture
def head(client, xuhui):
    admin = DistrictAdminFactory(district=xuhui).user
    client.force_login(admin)
    return admin


def upload(client, url: str, content: bytes) -> AccountImport:
    response = client.post(url, {"file": SimpleUploadedFile("admins.xlsx", content)})
    assert response.status_code == 302, response.content.decode()[:500]
    return AccountImport.objects.latest("id")


def school_sheet_url(district_) -> str:
    return reverse("students:school-admin-sheet", args=[district_.pk])


GOOD_ROWS = [
    ["0410001", "nanmo.admin", "南模管理员", "nanmo@example.org"],
    ["0410002", "weiyu.admin", "位育管理员", ""],
]


def test_a_district_admins_sheet_previews_then_creates_the_school_admins(
    client, head, xuhui, schools
):
    item = upload(client, school_sheet_url(xuhui), sheet(GOOD_ROWS))
    assert item.status == AccountImportStatus.PREVIEWED
    assert item.summary == {"new": 2, "changed": 0, "unchanged": 0}
    assert not User.objects.filter(username__in=["nanmo.admin", "weiyu.admin"]).exists()
    page = client.get(reverse("students:account-import", args=[item.pk])).content.decode()
    assert 'data-testid="confirm-form"' in page

    client.post(reverse("students:account-import-confirm", args=[item.pk]))
    item.refresh_from_db()
    assert item.status == AccountImportStatus.IMPORTED
    nanmo = User.objects.get(username="nanmo.admin")
    assert (nanmo.role, nanmo.full_name, nanmo.email) == (
        Role.SCHOOL_ADMIN,
        "南模管理员",
        "nanmo@example.org",
    )
    assert not nanmo.has_usable_password()
    assert (
        TeacherAssignment.objects.get(user=nanmo, role=TeacherRole.SCHOOL_ADMIN).school
        == (schools[0])
    )

    # Their slips are printed on the logins page, and a slip's code opens the login.
    url = reverse("students:school-admin-logins", args=[xuhui.pk])
    text = slips_text(client.post(url))
    assert "南模管理员" in text and "位育管理员" in text and len(codes_in(text)) == 2
    code = codes_in(text.split("南模管理员")[1])[0]
    client.logout()
    assert activate(client, "nanmo.admin", code).status_code == 302
    nanmo.refresh_from_db()
    assert nanmo.has_usable_password()


def test_the_same_sheet_again_changes_nothing_and_a_new_name_is_a_change(
    client, head, xuhui, schools
):
    first = upload(client, school_sheet_url(xuhui), sheet(GOOD_ROWS))
    client.post(reverse("students:account-import-confirm", args=[first.pk]))
    users = User.objects.count()

    again = upload(client, school_sheet_url(xuhui), sheet(GOOD_ROWS))
    assert again.summary == {"new": 0, "changed": 0, "unchanged": 2}
    client.post(reverse("students:account-import-confirm", args=[again.pk]))
    assert User.objects.count() == users
    assert TeacherAssignment.objects.filter(role=TeacherRole.SCHOOL_ADMIN).count() == 2

    renamed = [[*GOOD_ROWS[0][:2], "南模新管理员", ""], GOOD_ROWS[1]]
    changed = upload(client, school_sheet_url(xuhui), sheet(renamed))
    assert changed.summary == {"new": 0, "changed": 1, "unchanged": 1}
    client.post(reverse("students:account-import-confirm", args=[changed.pk]))
    nanmo = User.objects.get(username="nanmo.admin")
    assert nanmo.full_name == "南模新管理员" and nanmo.email == "nanmo@example.org"


def test_each_bad_row_and_field_is_named_and_nothing_is_written(client, head, xuhui, schools):
    elsewhere = SchoolFactory(code="0110009", district=district("310101"))
    StudentFactory(user=UserFactory(username="G20250001", role=Role.STUDENT))
    rows = [
        ["0410001", "ok.admin", "好管理员", ""],  # 2: fine on its own
        [elsewhere.code, "other.admin", "别区管理员", ""],  # 3: a school of another district
        ["0410001", "x", "太短", ""],  # 4: username too short
        ["0410002", "noname.admin", "", "not-an-address"],  # 5: no name, bad e-mail
        ["0410002", "ok.admin", "重复", ""],  # 6: the same username as row 2
        ["0410002", "G20250001", "学生", ""],  # 7: a student's login
        ["", "nocode.admin", "无代码", ""],  # 8: no code
    ]
    item = upload(client, school_sheet_url(xuhui), sheet(rows))
    assert item.status == AccountImportStatus.REFUSED
    assert {(e["row"], e["column"], e["code"]) for e in item.errors} == {
        (3, "code", "unknown_place"),
        (4, "username", "bad_username"),
        (5, "name", "empty"),
        (5, "email", "bad_email"),
        (6, "username", "duplicate"),
        (7, "username", "username_taken"),
        (8, "code", "empty"),
    }
    page = client.get(reverse("students:account-import", args=[item.pk])).content.decode()
    assert "No school of your district has the code 0110009." in page
    assert "The same username is on row 2." in page
    assert 'data-testid="confirm-form"' not in page
    assert not User.objects.filter(username="ok.admin").exists()


def test_a_sheet_without_the_columns_is_refused_whole(client, head, xuhui, schools):
    item = upload(client, school_sheet_url(xuhui), sheet([["a", "b"]], header=["x", "y"]))
    assert item.status == AccountImportStatus.REFUSED
    assert item.errors[0]["code"] == "missing_columns"


def test_the_city_admin_brings_in_the_districts_admins(client):
    client.force_login(UserFactory(role=Role.CITY_ADMIN))
    content = sheet(
        [
            ["310104", "xuhui.edu", "徐汇区管理员", ""],
            ["310101", "huangpu.edu", "黄浦区管理员", ""],
        ],
        header=["区代码", "用户名", "姓名", "邮箱"],
    )
    item = upload(client, reverse("students:district-admin-sheet"), content)
    assert item.summary == {"new": 2, "changed": 0, "unchanged": 0}
    client.post(reverse("students:account-import-confirm", args=[item.pk]))
    admin = DistrictAdmin.objects.select_related("user", "district").get(user__username="xuhui.edu")
    assert admin.district.code == "310104" and admin.user.role == Role.DISTRICT_ADMIN
    text = slips_text(client.post(reverse("students:district-admin-logins")))
    assert "徐汇区管理员" in text and len(codes_in(text)) == 2
    wrong = upload(
        client, reverse("students:district-admin-sheet"), sheet([["999999", "a.b.c", "某", ""]])
    )
    assert [e["code"] for e in wrong.errors] == ["unknown_place"]


def test_only_the_district_and_the_city_see_their_own_sheets(client, head, xuhui, schools):
    item = upload(client, school_sheet_url(xuhui), sheet(GOOD_ROWS))
    other = DistrictAdminFactory(district=district("310101")).user
    client.force_login(other)
    assert client.get(reverse("students:account-import", args=[item.pk])).status_code == 404
    confirm = client.post(reverse("students:account-import-confirm", args=[item.pk]))
    assert confirm.status_code == 404
    assert client.post(school_sheet_url(xuhui)).status_code == 404
    assert client.post(reverse("students:district-admin-sheet")).status_code == 404
    assert client.get(reverse("students:district-admin-sheet-template")).status_code == 404
    item.refresh_from_db()
    assert item.status == AccountImportStatus.PREVIEWED


def test_the_template_lists_the_districts_schools_with_their_codes(client, head, xuhui, schools):
    import io

    from openpyxl import load_workbook

    response = client.get(reverse("students:school-admin-sheet-template", args=[xuhui.pk]))
    workbook = load_workbook(io.BytesIO(response.content))
    places = list(workbook["places"].iter_rows(values_only=True))
    assert ("0410001", "上海市南洋模范中学") in places
    assert [c.value for c in next(workbook["admins"].iter_rows())] == [
        "code",
        "username",
        "name",
        "email",
    ]


def test_the_logins_page_offers_the_sheet_in_chinese(client, head, xuhui, schools):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    url = reverse("students:school-admin-logins", args=[xuhui.pk])
    page = client.get(url).content.decode()
    assert "从表格导入账号" in page and 'data-testid="account-sheet-form"' in page
    assert "尚未上传表格。" in page


def test_the_preview_makes_the_same_number_of_queries_for_a_longer_sheet(head, xuhui, schools):
    from districts.accounts import account_import_preview
    from students.staff_accounts import school_admins_scope
    from tests.queries import queries_for

    def preview(count: int) -> int:
        rows = [[schools[n % 2].code, f"admin{count}.{n}", f"管理员{n}", ""] for n in range(count)]
        queries, item = queries_for(
            lambda: account_import_preview(
                scope=school_admins_scope(district=xuhui),
                content=sheet(rows),
                original_name="admins.xlsx",
                uploaded_by=head,
            )
        )
        assert item.summary["new"] == count
        return queries

    assert preview(2) == preview(40)


def test_the_city_admin_may_bring_in_a_districts_school_admins_too(client, xuhui, schools):
    client.force_login(UserFactory(role=Role.CITY_ADMIN))
    item = upload(client, school_sheet_url(xuhui), sheet(GOOD_ROWS))
    assert client.get(reverse("students:account-import", args=[item.pk])).status_code == 200
    client.post(reverse("students:account-import-confirm", args=[item.pk]))
    assert TeacherAssignment.objects.filter(role=TeacherRole.SCHOOL_ADMIN).count() == 2


def test_a_hostile_file_is_refused_and_nothing_kept(client, head, xuhui):
    response = client.post(
        school_sheet_url(xuhui),
        {"file": SimpleUploadedFile("admins.xlsx", b"\x89PNG\r\n\x1a\n" + b"0" * 100)},
        follow=True,
    )
    assert "PNG" in response.content.decode()
    assert not AccountImport.objects.exists()
