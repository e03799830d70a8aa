"""Every spreadsheet a page lets a user download runs no formula, whatever text it holds.

The admin exports have their own test (test_exports_escaped); these are the portal's pages: the
class, school, district and city reports, a session's applicants and the attendance-import
template. Each is downloaded through its page with formula-like text in the names it shows, and
read back: not one formula cell, not one text cell beginning with a formula character.
"""

import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from portal.models import Role
from portal.spreadsheets import FORMULA_PREFIXES
from tests.factories import (
    ApplicationFactory,
    DistrictAdminFactory,
    SchoolAdminFactory,
    SessionFactory,
    StudentFactory,
    UserFactory,
)
from tests.personas import owner_of

pytestmark = pytest.mark.django_db

LINK = '=HYPERLINK("http://evil.example","打开")'
AT = "@SUM(1)"
MINUS = "-2+3"
PLUS = "+cmd|' /C calc'!A0"


def assert_nothing_runs(content: bytes, *expected: str) -> None:
    """No formula cell and no unescaped text cell on any sheet; `expected` shown escaped."""
    workbook = load_workbook(io.BytesIO(content))
    texts = []
    for sheet in workbook.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", f"{sheet.title}!{cell.coordinate} is a formula"
                if isinstance(cell.value, str):
                    assert not cell.value.startswith(FORMULA_PREFIXES), (
                        f"{sheet.title}!{cell.coordinate} = {cell.value!r} is not escaped"
                    )
                    texts.append(cell.value)
    for text in expected:
        assert "'" + text in texts, f"{text!r} is not in the file as escaped text"


@pytest.fixture
def application():
    """A confirmed applicant whose name, school, class and post all look like formulas."""
    session = SessionFactory(post__title=LINK, post__base__name=AT)
    student = StudentFactory(name=PLUS, school_class__school__name=MINUS)
    return ApplicationFactory(session=session, student=student)


def test_the_class_report(client, application):
    school_class = application.student.school_class
    client.force_login(owner_of(school_class))
    response = client.get(f"/reports/classes/{school_class.pk}/xlsx/")
    assert response.status_code == 200
    assert_nothing_runs(response.content, PLUS)


def test_the_school_district_and_city_reports(client, application):
    school = application.student.school_class.school
    for user, url in (
        (SchoolAdminFactory(school=school).user, f"/reports/schools/{school.pk}/"),
        (
            DistrictAdminFactory(district=school.district).user,
            f"/reports/districts/{school.district.pk}/",
        ),
        (UserFactory(role=Role.CITY_ADMIN), "/reports/city/"),
    ):
        client.force_login(user)
        response = client.get(url + "?format=xlsx")
        assert response.status_code == 200, url
        assert_nothing_runs(response.content)
    client.force_login(DistrictAdminFactory(district=school.district).user)
    district_sheet = client.get(f"/reports/districts/{school.district.pk}/?format=xlsx")
    assert_nothing_runs(district_sheet.content, MINUS)


def test_a_sessions_applicants(client, application):
    client.force_login(owner_of(application.session))
    response = client.get(reverse("bases:session-applicants-xlsx", args=[application.session.pk]))
    assert response.status_code == 200
    assert_nothing_runs(response.content, PLUS, MINUS)


def test_the_attendance_import_template(client, application):
    base = application.session.post.base
    client.force_login(owner_of(base))
    response = client.get(reverse("bases:attendance-import-template", args=[base.pk]))
    assert response.status_code == 200
    assert_nothing_runs(response.content, LINK)
    workbook = load_workbook(io.BytesIO(response.content))
    assert workbook.sheetnames == ["attendance", "sessions", "instructions"]
    sessions = list(workbook["sessions"].iter_rows(values_only=True))
    # The id is text, like the sheet's session_id column it is copied into.
    assert sessions[1][0] == str(application.session.pk)
    assert sessions[1][4] == 1
