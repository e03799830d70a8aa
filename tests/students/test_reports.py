"""Class, school, district and city reports: numbers from the ledger, filters, files, queries."""

import io
import re

import pytest
from django.utils import timezone
from openpyxl import load_workbook
from pypdf import PdfReader

from portal.models import AuditLog, Role
from students.completion import school_report
from students.reports import class_report
from tests.factories import (
    PASSWORD,
    DistrictAdminFactory,
    SchoolAdminFactory,
    SchoolClassFactory,
    SchoolFactory,
    StudentFactory,
    UserFactory,
    district,
)
from tests.personas import owner_of
from tests.queries import queries_for
from tests.students.progress_helpers import add_record, entry_year_with_every_state, give_state

pytestmark = pytest.mark.django_db


@pytest.fixture
def today():
    return timezone.localdate()


@pytest.fixture
def klass(today):
    """A class with one student in each state; names say which."""
    school_class = SchoolClassFactory(
        school__name="徐汇中学", number=3, entry_year=entry_year_with_every_state(today)
    )
    students = {}
    for number, state in enumerate(("done", "on_track", "at_risk", "behind"), start=1):
        student = StudentFactory(
            school_class=school_class, name=f"{state}同学", student_number=f"G2024000{number}"
        )
        student.expected = give_state(student, state, today=today)
        students[state] = student
    school_class.by_state = students
    return school_class


def sign_in(client, user):
    assert client.login(username=user.username, password=PASSWORD)


def test_the_class_report_has_every_student_with_the_selectors_figures(klass, today):
    report = class_report(school_class=klass, today=today)
    by_name = {row.name: row for row in report.rows}
    for state, student in klass.by_state.items():
        row = by_name[student.name]
        minutes, days = student.expected
        assert row.forecast == state
        assert (row.progress.volunteer_minutes, row.practice_days) == (minutes, days)
        assert row.categories["volunteer_service"].days == days
    assert report.counts() == {"done": 1, "on_track": 1, "at_risk": 1, "behind": 1}


def test_the_class_report_makes_four_queries_whatever_the_class_size(
    klass, today, django_assert_num_queries
):
    with django_assert_num_queries(4):
        class_report(school_class=klass, today=today)
    for _ in range(30):
        add_record(StudentFactory(school_class=klass), day=today)
    with django_assert_num_queries(4):
        report = class_report(school_class=klass, today=today)
    assert len(report.rows) == 34


def _page_queries(client, url) -> int:
    count, response = queries_for(lambda: client.get(url))
    assert response.status_code == 200
    return count


def test_the_class_report_page_makes_the_same_number_of_queries_for_a_bigger_class(
    client, klass, today
):
    sign_in(client, owner_of(klass))
    url = f"/reports/classes/{klass.pk}/"
    small = _page_queries(client, url)
    for _ in range(40):
        add_record(StudentFactory(school_class=klass), day=today)
    assert _page_queries(client, url) == small == 6  # the session and the user from the cache


def test_the_attention_filter_shows_the_students_at_risk_and_behind_only(client, klass):
    sign_in(client, owner_of(klass))
    html = client.get(f"/reports/classes/{klass.pk}/?state=attention").content.decode()
    assert "at_risk同学" in html and "behind同学" in html
    assert "done同学" not in html and "on_track同学" not in html


def _chip_counts(html: str) -> list[str]:
    chips = html.split('data-testid="state-counts"')[1].split("</div>")[0]
    return re.findall(r"<b>(\d+)</b>", chips)


@pytest.mark.parametrize("query", ["state=bogus", "state=", "state=bogus&q=done"])
def test_an_unknown_state_is_ignored_and_the_totals_count_the_class(client, klass, query):
    sign_in(client, owner_of(klass))
    html = client.get(f"/reports/classes/{klass.pk}/?{query}").content.decode()
    assert _chip_counts(html) == ["4", "1", "1", "1", "1"]
    names = set(re.findall(r"(\w+)同学", html.split('data-testid="state-counts"')[1]))
    assert names == ({"done"} if "q=" in query else {"done", "on_track", "at_risk", "behind"})
    xlsx = client.get(f"/reports/classes/{klass.pk}/xlsx/?{query}")
    rows = list(load_workbook(io.BytesIO(xlsx.content)).active.iter_rows(values_only=True))
    assert len(rows) - 1 == len(names)


def test_the_totals_count_the_whole_class_while_a_name_narrows_the_rows(client, klass):
    sign_in(client, owner_of(klass))
    html = client.get(f"/reports/classes/{klass.pk}/?q=behind&state=behind").content.decode()
    assert _chip_counts(html) == ["4", "1", "1", "1", "1"]
    assert "behind同学" in html and "at_risk同学" not in html


def test_it_sorts_by_practice_days(client, klass):
    sign_in(client, owner_of(klass))
    html = client.get(f"/reports/classes/{klass.pk}/?sort=-practice_days").content.decode()
    order = re.findall(r'data-student="(G\d+)"', html)
    days = {s.student_number: s.expected[1] for s in klass.by_state.values()}
    assert [days[n] for n in order] == sorted(days.values(), reverse=True)


def _headers(html: str) -> dict[str, tuple[str, str]]:
    """{header text: (its class, its link)} of the class report's table."""
    head = html.split('data-testid="class-report-table"')[1].split("</thead>")[0]
    return {
        label: (classes, href.replace("&amp;", "&"))
        for classes, href, label in re.findall(
            r'<th class="([^"]*)"><a href="([^"]*)">([^<]*)</a>', head
        )
    }


def test_a_header_sorts_by_its_column_the_other_way_once_sorted_and_keeps_the_filters(
    client, klass
):
    sign_in(client, owner_of(klass))
    headers = _headers(client.get(f"/reports/classes/{klass.pk}/").content.decode())
    assert headers["学籍号"] == ("asc orderable", "?sort=-student_number")
    assert headers["实践天数"] == ("orderable", "?sort=practice_days")
    html = client.get(f"/reports/classes/{klass.pk}/?q=G2024&sort=-practice_days").content.decode()
    headers = _headers(html)
    assert headers["实践天数"] == ("desc orderable", "?q=G2024&sort=practice_days")
    assert headers["学籍号"] == ("orderable", "?q=G2024&sort=student_number")
    assert headers["姓名"][0] == "cell-title orderable"


def test_sorting_by_a_category_orders_the_page_and_its_download_alike(client, klass):
    sign_in(client, owner_of(klass))
    query = "sort=-category_volunteer_service"
    html = client.get(f"/reports/classes/{klass.pk}/?{query}").content.decode()
    order = re.findall(r'data-student="(G\d+)"', html)
    days = {s.student_number: s.expected[1] for s in klass.by_state.values()}
    assert [days[n] for n in order] == sorted(days.values(), reverse=True)
    xlsx = client.get(f"/reports/classes/{klass.pk}/xlsx/?{query}")
    rows = list(load_workbook(io.BytesIO(xlsx.content)).active.iter_rows(values_only=True))
    assert [row[0] for row in rows[1:]] == order


def test_a_filter_matching_nobody_says_so(client, klass):
    sign_in(client, owner_of(klass))
    html = client.get(f"/reports/classes/{klass.pk}/?q=无此人").content.decode()
    table = html.split('data-testid="class-report-table"')[1].split("</table>")[0]
    assert re.search(r'<td colspan="1\d">没有符合筛选条件的学生。</td>', table)
    assert "data-student" not in table


def test_the_xlsx_has_the_filtered_rows_with_their_figures(client, klass):
    sign_in(client, owner_of(klass))
    response = client.get(f"/reports/classes/{klass.pk}/xlsx/?state=attention")
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("学籍号", "姓名", rows[0][2])
    body = {row[1]: row for row in rows[1:]}
    assert set(body) == {"at_risk同学", "behind同学"}
    student = klass.by_state["at_risk"]
    row = body[student.name]
    assert row[0] == student.student_number
    assert (row[4], row[5]) == student.expected
    assert AuditLog.objects.filter(action="report.class.xlsx", object_id=str(klass.pk)).exists()


def test_the_pdf_lists_the_students_with_their_numbers(client, klass):
    sign_in(client, owner_of(klass))
    response = client.get(f"/reports/classes/{klass.pk}/pdf/")
    assert response["Content-Type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(response.content))
    text = "".join(page.extract_text() for page in reader.pages)
    for student in klass.by_state.values():
        assert student.student_number in text
        assert student.name in text
    assert len(reader.pages) == 1
    fonts = {
        str(font["/BaseFont"])
        for page in reader.pages
        for font in page["/Resources"]["/Font"].values()
    }
    assert any("Noto-Sans-CJK-SC" in name for name in fonts), fonts


@pytest.mark.parametrize(
    "persona, status",
    [
        ("head_teacher", 200),
        ("school_admin", 200),
        ("district_admin", 200),
        ("city_admin", 200),
        ("other_head_teacher", 404),
        ("other_school_admin", 404),
        ("other_district_admin", 404),
        ("student", 404),
    ],
)
def test_only_the_class_and_its_overseers_see_the_report(client, klass, persona, status):
    other_class = SchoolClassFactory(school__district=district("310101"))
    users = {
        "head_teacher": lambda: owner_of(klass),
        "school_admin": lambda: SchoolAdminFactory(school=klass.school).user,
        "district_admin": lambda: DistrictAdminFactory(district=klass.school.district).user,
        "city_admin": lambda: UserFactory(role=Role.CITY_ADMIN),
        "other_head_teacher": lambda: owner_of(other_class),
        "other_school_admin": lambda: SchoolAdminFactory(school=other_class.school).user,
        "other_district_admin": lambda: DistrictAdminFactory(district=district("310101")).user,
        "student": lambda: klass.by_state["done"].user,
    }
    sign_in(client, users[persona]())
    for suffix in ("", "xlsx/", "pdf/"):
        assert client.get(f"/reports/classes/{klass.pk}/{suffix}").status_code == status


def test_the_school_report_counts_by_class_and_grade(klass, today):
    other = SchoolClassFactory(school=klass.school, entry_year=klass.entry_year, number=4)
    StudentFactory(school_class=other)
    small, report = queries_for(lambda: school_report(school=klass.school, today=today))
    bigger = SchoolFactory(district=klass.school.district)
    for number in range(1, 5):
        school_class = SchoolClassFactory(school=bigger, entry_year=klass.entry_year, number=number)
        StudentFactory.create_batch(3, school_class=school_class)
    large, _ = queries_for(lambda: school_report(school=bigger, today=today))
    # The classes, the entry years, the policies, the grouped stored totals (students.progress).
    assert small == large == 4
    by_class = {c.key: c for c in report.by_class}
    assert by_class[klass.pk].counts == {"done": 1, "on_track": 1, "at_risk": 1, "behind": 1}
    assert by_class[other.pk].students == 1
    assert [g.students for g in report.by_grade] == [5]
    assert report.total.students == 5 and report.total.done == 1


def test_the_school_report_page_drills_down_to_each_class(client, klass):
    sign_in(client, SchoolAdminFactory(school=klass.school).user)
    response = client.get(f"/reports/schools/{klass.school.pk}/")
    html = response.content.decode()
    assert f'href="/reports/classes/{klass.pk}/"' in html
    assert 'data-testid="class-chart"' in html and "<svg" in html
    sheet = load_workbook(
        io.BytesIO(client.get(f"/reports/schools/{klass.school.pk}/?format=xlsx").content)
    ).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[1][:6] == (klass.name, 4, 1, 1, 1, 1)


def test_a_head_teacher_cannot_open_the_school_report(client, klass):
    sign_in(client, owner_of(klass))
    assert client.get(f"/reports/schools/{klass.school.pk}/").status_code == 404


def test_the_district_report_counts_each_school_in_a_fixed_number_of_queries(client, klass):
    admin = DistrictAdminFactory(district=klass.school.district).user
    sign_in(client, admin)
    url = f"/reports/districts/{klass.school.district.pk}/"
    before = _page_queries(client, url)
    for _ in range(3):
        StudentFactory(school_class=SchoolClassFactory(school=SchoolFactory()))
    assert _page_queries(client, url) == before
    html = client.get(url).content.decode()
    assert f'href="/reports/schools/{klass.school.pk}/"' in html
    sheet = load_workbook(io.BytesIO(client.get(url + "?format=xlsx").content)).active
    rows = {row[0]: row for row in sheet.iter_rows(values_only=True)}
    assert rows["徐汇中学"][1:6] == (4, 1, 1, 1, 1)


def test_the_city_report_counts_each_district(client, klass):
    StudentFactory(school_class=SchoolClassFactory(school__district=district("310101")))
    sign_in(client, UserFactory(role=Role.CITY_ADMIN))
    sheet = load_workbook(io.BytesIO(client.get("/reports/city/?format=xlsx").content)).active
    rows = {row[0]: row for row in sheet.iter_rows(values_only=True)}
    assert rows["徐汇区"][1:6] == (4, 1, 1, 1, 1)
    assert rows["黄浦区"][1] == 1
    assert rows["浦东新区"][1] == 0
    assert rows["上海市"][1] == 5
    assert client.get("/reports/city/").status_code == 200


def test_a_district_admin_cannot_open_the_city_report_or_another_district(client, klass):
    sign_in(client, DistrictAdminFactory(district=klass.school.district).user)
    assert client.get("/reports/city/").status_code == 404
    assert client.get(f"/reports/districts/{district('310101').pk}/").status_code == 404


def test_the_school_report_finds_a_student_by_name_or_student_number(client, klass):
    sign_in(client, SchoolAdminFactory(school=klass.school).user)
    other_school = StudentFactory(name="at_risk同学的表哥")  # another school: never found
    url = f"/reports/schools/{klass.school.pk}/"
    html = client.get(url, {"student": "risk"}).content.decode()
    found = html.split('data-testid="student-results"')[1].split("</section>")[0]
    student = klass.by_state["at_risk"]
    assert f'href="/reports/students/{student.pk}/"' in found
    assert other_school.name not in found
    by_number = client.get(url, {"student": student.student_number.lower()}).content.decode()
    assert by_number.count('data-testid="found-student"') == 1
    nothing = client.get(url, {"student": "无此人"}).content.decode()
    assert "本校没有匹配的学生" in nothing
