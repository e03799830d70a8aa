"""Students marked as left count in no completion figure, but their records still answer."""

import io

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from portal.models import Role
from students.certificates import certificate_issue
from students.completion import city_report, district_report, school_report
from students.reports import class_report
from tests.factories import (
    PASSWORD,
    DistrictAdminFactory,
    SchoolAdminFactory,
    SchoolClassFactory,
    StudentFactory,
    UserFactory,
)
from tests.personas import owner_of
from tests.students.progress_helpers import entry_year_with_every_state, give_state

pytestmark = pytest.mark.django_db


@pytest.fixture
def today():
    return timezone.localdate()


@pytest.fixture
def klass(today):
    """A class with one student in each state, and a student at risk who has left."""
    school_class = SchoolClassFactory(
        school__name="徐汇中学", number=3, entry_year=entry_year_with_every_state(today)
    )
    for number, state in enumerate(("done", "on_track", "at_risk", "behind"), start=1):
        student = StudentFactory(
            school_class=school_class, name=f"{state}同学", student_number=f"G2024000{number}"
        )
        give_state(student, state, today=today)
    leaver = StudentFactory(school_class=school_class, name="离校同学", student_number="G20240009")
    give_state(leaver, "at_risk", today=today)
    leaver.left_on = today
    leaver.save(update_fields=["left_on"])
    school_class.leaver = leaver
    return school_class


def sign_in(client, user):
    assert client.login(username=user.username, password=PASSWORD)


def test_the_class_report_leaves_out_a_student_who_left(klass, today):
    report = class_report(school_class=klass, today=today)
    assert "离校同学" not in {row.name for row in report.rows}
    assert report.counts() == {"done": 1, "on_track": 1, "at_risk": 1, "behind": 1}


def test_the_at_risk_list_and_the_class_file_leave_out_a_student_who_left(client, klass):
    sign_in(client, owner_of(klass))
    html = client.get(f"/reports/classes/{klass.pk}/?state=attention").content.decode()
    assert "at_risk同学" in html and "离校同学" not in html
    sheet = client.get(f"/reports/classes/{klass.pk}/xlsx/")
    names = [row[1] for row in load_workbook(io.BytesIO(sheet.content)).active.iter_rows()]
    assert [cell.value for cell in names[1:]].count("离校同学") == 0
    assert len(names) - 1 == 4


def test_school_district_and_city_figures_count_four_students_not_five(klass, today):
    school = school_report(school=klass.school, today=today)
    assert school.total.students == 4 and school.total.at_risk == 1
    assert [g.students for g in school.by_grade] == [4]
    district = district_report(district=klass.school.district, today=today)
    assert {g.label: g.students for g in district}["徐汇中学"] == 4
    city = {g.key: g for g in city_report(today=today)}
    assert city[klass.school.district_id].students == 4
    assert city[klass.school.district_id].at_risk == 1


def test_the_head_teachers_dashboard_counts_the_class_without_the_leaver(client, klass):
    sign_in(client, owner_of(klass))
    response = client.get("/dashboard/teacher/")
    groups = response.context["class_groups"]
    assert [(g.students, g.needs_attention) for g in groups] == [(4, 2)]


def test_the_report_pages_count_four_students(client, klass):
    sign_in(client, SchoolAdminFactory(school=klass.school).user)
    sheet = client.get(f"/reports/schools/{klass.school.pk}/?format=xlsx")
    rows = list(load_workbook(io.BytesIO(sheet.content)).active.iter_rows(values_only=True))
    assert rows[1][:6] == (klass.name, 4, 1, 1, 1, 1)
    client.logout()
    sign_in(client, DistrictAdminFactory(district=klass.school.district).user)
    url = f"/reports/districts/{klass.school.district.pk}/?format=xlsx"
    rows = {r[0]: r for r in load_workbook(io.BytesIO(client.get(url).content)).active.values}
    assert rows["徐汇中学"][1:6] == (4, 1, 1, 1, 1)
    client.logout()
    sign_in(client, UserFactory(role=Role.CITY_ADMIN))
    sheet = client.get("/reports/city/?format=xlsx")
    rows = {r[0]: r for r in load_workbook(io.BytesIO(sheet.content)).active.values}
    assert rows["徐汇区"][1:6] == (4, 1, 1, 1, 1)


def test_a_leavers_records_and_certificate_still_answer(client, klass):
    certificate = certificate_issue(student=klass.leaver, issued_by=None)
    response = client.get(f"/verify/{certificate.code}/")
    assert response.status_code == 200
    assert 'data-state="unchanged"' in response.content.decode()
    sign_in(client, SchoolAdminFactory(school=klass.school).user)
    assert client.get(f"/reports/students/{klass.leaver.pk}/").status_code == 200
