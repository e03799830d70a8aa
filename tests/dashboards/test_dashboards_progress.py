"""The role dashboards' progress, reports and figures, checked against the ledger they read."""

import io
import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from openpyxl import load_workbook

from bases.models import ApplicationStatus, Attendance
from evaluation_export.models import BatchStatus, ExportBatch, ExportedLine
from portal.models import AuditLog, Role
from students.models import RecordStatus
from students.progress import school_year_label, school_year_of
from tests.factories import (
    PASSWORD,
    ApplicationFactory,
    BaseFactory,
    DistrictAdminFactory,
    HeadTeacherFactory,
    SchoolAdminFactory,
    SchoolClassFactory,
    SessionFactory,
    StudentFactory,
    UserFactory,
    district,
)
from tests.students.progress_helpers import add_record, entry_year_with_every_state, give_state

pytestmark = pytest.mark.django_db


def sign_in(client, user):
    assert client.login(username=user.username, password=PASSWORD)


def queries_for(client, url) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries), response.content.decode()


def by_testid(html: str, name: str) -> str:
    match = re.search(rf'data-testid="{name}"[^>]*>([^<]*)<', html)
    assert match, f"no {name} in the page"
    return match.group(1).strip()


@pytest.fixture
def student():
    school_class = SchoolClassFactory(school__name="徐汇中学", entry_year=2025, number=3)
    return StudentFactory(name="李明", school_class=school_class)


class TestStudentDashboard:
    def test_it_shows_both_bars_with_the_ledgers_numbers(self, client, student):
        # 3 h + 2 h of volunteer work (= 7.5 学时), a 3-day 学农, one disputed and one revoked.
        add_record(student, day=date(2025, 10, 10), minutes=180)
        add_record(student, day=date(2025, 10, 11), minutes=120, status=RecordStatus.IN_NOTICE)
        add_record(
            student, day=date(2026, 4, 13), minutes=0, category_code="rural_practice", days=3
        )
        add_record(student, day=date(2026, 5, 1), minutes=240, status=RecordStatus.DISPUTED)
        add_record(student, day=date(2026, 5, 2), minutes=240, status=RecordStatus.REVOKED)
        sign_in(client, student.user)
        html = client.get("/dashboard/student/").content.decode()
        assert by_testid(html, "hours-done") == "7.5"
        assert by_testid(html, "hours-required") == "60"
        assert by_testid(html, "days-done") == "5"
        assert by_testid(html, "days-required") == "90"
        assert 'data-testid="held-apart"' in html
        assert 'data-testid="days-chart"' in html and "<svg" in html
        assert 'data-testid="dashboard-title"' in html and 'data-testid="scope"' in html

    def test_the_figures_come_first_then_upcoming_sessions_then_the_rest(self, client, student):
        sign_in(client, student.user)
        html = client.get("/dashboard/student/").content.decode()
        order = [
            html.index(f'data-testid="{testid}"')
            for testid in ("forecast", "hours-bar", "days-bar", "upcoming", "scope")
        ]
        assert order == sorted(order)

    def test_an_account_without_a_student_says_why(self, client):
        user = UserFactory(role=Role.STUDENT)
        client.force_login(user)
        html = client.get("/dashboard/student/").content.decode()
        assert "您的账号尚未关联学生学籍信息" in html
        assert 'data-testid="progress"' not in html

    def test_each_record_shows_its_state_including_exported(self, client, student):
        final = add_record(student, day=date(2025, 10, 10))
        in_notice = add_record(student, day=date(2026, 11, 20), status=RecordStatus.IN_NOTICE)
        add_record(student, day=date(2026, 11, 21), status=RecordStatus.DISPUTED)
        batch = ExportBatch.objects.create(
            period="2026-W47",
            kind="delta",
            status=BatchStatus.DONE,
            finished_at=timezone.now(),
            sha256="0" * 64,
        )
        ExportedLine.objects.create(
            batch=batch, batch_kind="delta", record=final, version=1, operation="new"
        )
        sign_in(client, student.user)
        html = client.get("/dashboard/student/").content.decode()
        rows = dict(re.findall(r'data-record="(\d+)">(.*?)</tr>', html, re.S))
        assert 'data-testid="exported"' in rows[str(final.pk)]
        until = in_notice.notice_ends_on.strftime("%Y-%m-%d")
        assert until in rows[str(in_notice.pk)]
        assert 'data-testid="exported"' not in rows[str(in_notice.pk)]
        assert len(rows) == 3

    def test_it_lists_the_sessions_to_come(self, client, student):
        ApplicationFactory(student=student, session__post__title="医院分诊引导")
        ApplicationFactory(
            student=student, session__post__title="已取消的岗位", status=ApplicationStatus.CANCELLED
        )
        sign_in(client, student.user)
        html = client.get("/dashboard/student/").content.decode()
        upcoming = html.split('data-testid="upcoming"')[1].split("</section>")[0]
        assert "医院分诊引导" in upcoming and "已取消的岗位" not in upcoming

    def test_its_queries_do_not_grow_with_the_records(self, client, student):
        sign_in(client, student.user)
        add_record(student, day=date(2025, 10, 1))
        few, _ = queries_for(client, "/dashboard/student/")
        for n in range(30):
            add_record(student, day=date(2025, 11, 1) + timedelta(days=n))
        ApplicationFactory(student=student)
        many, _ = queries_for(client, "/dashboard/student/")
        # 6 for progress and sessions, 3 for the reliability card (policy, events, lifts).
        assert few == many == 9


@pytest.fixture
def klass():
    today = timezone.localdate()
    school_class = SchoolClassFactory(
        school__name="徐汇中学", number=3, entry_year=entry_year_with_every_state(today)
    )
    for state in ("done", "on_track", "at_risk", "behind"):
        student = StudentFactory(school_class=school_class, name=f"{state}同学")
        give_state(student, state, today=today)
    return school_class


def test_the_head_teacher_dashboard_counts_the_class_by_state(client, klass):
    sign_in(client, HeadTeacherFactory(school_class=klass).user)
    count, html = queries_for(client, "/dashboard/teacher/")
    assert f'href="/reports/classes/{klass.pk}/"' in html
    assert 'data-counts="1 1 1 1"' in html and 'data-testid="class-chart"' in html
    assert f'href="/reports/classes/{klass.pk}/?state=attention"' in html
    for _ in range(10):
        StudentFactory(school_class=klass)
    assert queries_for(client, "/dashboard/teacher/")[0] == count == 5
    assert 'data-testid="todo"' in html


def test_the_head_teacher_sees_a_headline_and_the_at_risk_list_one_tap_away(client, klass):
    sign_in(client, HeadTeacherFactory(school_class=klass).user)
    html = client.get("/dashboard/teacher/").content.decode()
    headline = html.split('data-testid="class-headline"')[1].split("</section>")[0]
    # One student of each state: done and on track count as on track.
    assert "4人中2人进度正常，1人有风险，1人进度落后" in headline
    assert f'href="/reports/classes/{klass.pk}/?state=attention"' in headline
    assert "查看需关注的 2 名学生" in headline
    # The headline comes before everything else on the page.
    assert html.index('data-testid="class-headline"') < html.index('data-testid="scope"')
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    english = client.get("/dashboard/teacher/").content.decode()
    assert "4 students: 2 on track, 1 at risk, 1 behind" in english
    assert "See the 2 students who need attention" in english


def test_the_school_admin_dashboard_shows_completion_by_grade(client, klass):
    sign_in(client, SchoolAdminFactory(school=klass.school).user)
    count, html = queries_for(client, "/dashboard/school/")
    table = html.split('data-testid="grade-table"')[1].split("</table>")[0]
    assert re.search(r'data-group="total">.*?<b>4</b>', table, re.S)
    assert f'href="/reports/schools/{klass.school.pk}/"' in html
    SchoolClassFactory(school=klass.school, number=9)
    assert queries_for(client, "/dashboard/school/")[0] == count == 6


@pytest.fixture
def district_world(klass):
    """A base of Xuhui with two past sessions: 30 seats, 2 taken, 1 attended; one not closed."""
    now = timezone.now()
    base = BaseFactory(name="徐汇区图书馆", district=klass.school.district)
    starts = now - timedelta(days=3)
    for index in range(2):
        session = SessionFactory(
            post__base=base,
            starts_at=starts + timedelta(hours=index * 5),
            ends_at=starts + timedelta(hours=index * 5 + 3),
            applications_open_at=starts - timedelta(days=5),
            applications_close_at=starts - timedelta(days=1),
            capacity=15,
            taken=1,
        )
        application = ApplicationFactory(session=session, student__school_class=klass)
        if index == 0:
            Attendance.objects.create(
                session=session,
                student=application.student,
                application=application,
                checked_in_at=session.starts_at,
                checked_out_at=session.ends_at,
            )
    return base


def test_the_district_dashboard_shows_the_rosters_not_closed_and_links_the_reports(
    client, district_world
):
    sign_in(client, DistrictAdminFactory(district=district_world.district).user)
    queries_for(client, "/dashboard/district/")  # counts the city's completion once, keeps it
    count, html = queries_for(client, "/dashboard/district/")
    assert 'data-testid="overdue-table"' in html and 'data-testid="overdue-chart"' in html
    assert html.count("徐汇区图书馆") >= 2
    assert f'href="/reports/districts/{district_world.district.pk}/"' in html
    assert 'href="?view=bases"' in html and 'data-testid="todo"' in html
    BaseFactory(district=district_world.district)
    assert queries_for(client, "/dashboard/district/")[0] == count == 6
    overdue = load_workbook(io.BytesIO(client.get("/dashboard/district/?export=overdue").content))
    rows = list(overdue.active.iter_rows(values_only=True))
    assert len(rows) == 3 and rows[1][0] == "徐汇区图书馆"
    assert client.get("/dashboard/district/?export=nothing").status_code == 404


def test_the_district_bases_page_counts_seats_offered_taken_and_attended(client, district_world):
    sign_in(client, DistrictAdminFactory(district=district_world.district).user)
    count, html = queries_for(client, "/dashboard/district/?view=bases")
    row = re.search(r'data-group="徐汇区图书馆">(.*?)</tr>', html, re.S).group(1)
    assert re.findall(r'data-label="[^"]+">(\d+)', row) == ["2", "30", "2", "1"]
    assert 'data-testid="base-use-chart"' in html
    BaseFactory(district=district_world.district)
    SessionFactory(post__base=BaseFactory(district=district("310101")))
    assert queries_for(client, "/dashboard/district/?view=bases")[0] == count == 5
    sheet = load_workbook(io.BytesIO(client.get("/dashboard/district/?export=bases").content))
    rows = list(sheet.active.iter_rows(values_only=True))
    assert rows[1][:5] == ("徐汇区图书馆", 2, 30, 2, 1) and len(rows) == 2
    assert AuditLog.objects.filter(action="report.district.bases.xlsx").count() == 1


def test_the_city_bases_page_counts_each_district_with_its_late_rosters(client, district_world):
    sign_in(client, UserFactory(role=Role.CITY_ADMIN))
    count, html = queries_for(client, "/dashboard/city/?view=bases")
    assert 'data-testid="base-use-chart"' in html
    for code in ("310101", "310115"):
        SessionFactory(post__base=BaseFactory(district=district(code)))
    assert queries_for(client, "/dashboard/city/?view=bases")[0] == count == 5
    sheet = load_workbook(io.BytesIO(client.get("/dashboard/city/?export=bases").content))
    rows = {row[0]: row for row in sheet.active.iter_rows(values_only=True)}
    assert rows["徐汇区"][1:] == (2, 30, 2, 1, 7, 50, 2)
    assert rows["黄浦区"][1:3] == (1, 30)


def test_the_city_dashboard_links_every_district_to_its_report(client):
    sign_in(client, UserFactory(role=Role.CITY_ADMIN))
    queries_for(client, "/dashboard/city/")  # counts the city once, then keeps the count
    count, html = queries_for(client, "/dashboard/city/")
    assert f'href="/reports/districts/{district("310104").pk}/"' in html
    assert 'href="/reports/city/"' in html and 'data-testid="scope"' in html
    assert count == 2


def test_the_attendance_rate_counts_only_seats_of_sessions_that_have_ended(client, district_world):
    # Seats taken in a session still to come (or still running) cannot have been attended yet.
    now = timezone.now()
    for starts in (now + timedelta(hours=2), now - timedelta(hours=1)):
        SessionFactory(post__base=district_world, starts_at=starts, capacity=10, taken=6)
    # A student checked in at a running session counts as attended, not yet in the rate.
    running = ApplicationFactory(
        session__post__base=district_world, session__starts_at=now, session__capacity=20
    )
    Attendance.objects.create(
        session=running.session,
        student=running.student,
        application=running,
        checked_in_at=now,
    )
    sign_in(client, DistrictAdminFactory(district=district_world.district).user)
    html = client.get("/dashboard/district/?view=bases").content.decode()
    row = re.search(r'data-group="徐汇区图书馆">(.*?)</tr>', html, re.S).group(1)
    assert re.findall(r'data-label="[^"]+">(\d+)', row) == ["5", "70", "14", "2"]
    attended = re.search(r'>2 <span class="small muted">(\d+)%', row).group(1)
    assert attended == "50"  # 1 of the 2 seats taken in the sessions that have ended
    sheet = load_workbook(io.BytesIO(client.get("/dashboard/district/?export=bases").content))
    assert list(sheet.active.iter_rows(values_only=True))[1][1:] == (5, 70, 14, 2, 20, 50)


class TestBreakdowns:
    def test_military_training_before_entry_counts_in_grade_one(self, client):
        entry_year = school_year_of(timezone.localdate())
        student = StudentFactory(school_class=SchoolClassFactory(entry_year=entry_year))
        # 新生军训: three days at the end of August, before the school year of entry starts.
        add_record(
            student,
            day=date(entry_year, 8, 25),
            minutes=0,
            category_code="military_training",
            days=3,
        )
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
        sign_in(client, student.user)
        html = client.get("/dashboard/student/").content.decode()
        table = html.split('data-testid="by-school-year"')[1].split("</table>")[0]
        rows = re.findall(
            r"<tr><td>(\S+) <span[^>]*>([^<]*)</span></td>.*?</td><td[^>]*>(\d+)</td>", table
        )
        assert rows[0] == (school_year_label(entry_year), "grade 1", "3")
        assert [row[0] for row in rows] == [school_year_label(entry_year + n) for n in range(3)]
        assert by_testid(html, "days-done") == "3"

    def test_the_monthly_hours_add_up_to_the_hours_shown(self, client, student):
        # Four months of 30 minutes: 0.75 学时 each, 3 学时 in all; rounded one by one the bars
        # would show 0.7 four times (2.8).
        today = timezone.localdate()
        for months_ago in range(4):
            add_record(student, day=today - timedelta(days=1 + 31 * months_ago), minutes=30)
        sign_in(client, student.user)
        html = client.get("/dashboard/student/").content.decode()
        chart = html.split('data-testid="hours-chart"')[1].split("</figure>")[0]
        bars = [Decimal(v) for v in re.findall(r"<title>\d+: ([\d.]+)</title>", chart)]
        assert len(bars) == 4
        assert sum(bars) == Decimal(by_testid(html, "hours-done")) == 3


def test_each_district_tile_shows_its_completion_and_the_count_is_kept_a_while(client, klass):
    sign_in(client, UserFactory(role=Role.CITY_ADMIN))
    first, html = queries_for(client, "/dashboard/city/")
    tiles = {
        tile.split('href="')[1].split('"')[0]: tile
        for tile in html.split('data-testid="district-tile"')[:-1]
    }
    xuhui = html.split(f'/reports/districts/{klass.school.district.pk}/"')[1].split("</a>")[0]
    # One student of each state in Xuhui: 2 of 4 done or on track.
    assert "<b>50%</b>" in xuhui and "4人：已完成1人，有风险1人，进度落后1人" in xuhui
    assert 'class="mini-bar"' in xuhui and 'data-width="25"' in xuhui
    assert tiles and 'data-testid="counted-at"' in html
    # The second view reads the kept count: the four queries of the page alone.
    StudentFactory(school_class=klass)
    again, html = queries_for(client, "/dashboard/city/")
    assert again == 2 < first
    assert "4人：已完成1人" in html


def test_the_district_dashboard_shows_its_completion_with_a_chart(client, klass):
    sign_in(client, DistrictAdminFactory(district=klass.school.district).user)
    html = client.get("/dashboard/district/").content.decode()
    section = html.split('data-testid="district-completion"')[1].split("</section>")[0]
    assert "4人中2人进度正常，1人有风险，1人进度落后" in section
    assert 'data-testid="district-chart"' in section
