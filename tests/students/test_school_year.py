"""The year turns: graduates' records final and exported, logins disabled after the grace period.

Closing is shown first (a dry run), done once, and a second run changes nothing. Grades and the
policy of a new entry year follow from the dates by themselves.
"""

import io
from datetime import date, timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from evaluation_export.models import ExportedLine
from evaluation_export.services import export_batch_create, export_batch_run
from portal.models import AuditLog, Role
from students.certificates import certificate_issue
from students.models import PracticeRecord, RecordStatus, SchoolYearClose
from students.progress import school_year_of
from students.school_year import (
    graduate_logins_disable_due,
    school_year_close,
    school_year_close_plan,
)
from tests.factories import PASSWORD, SchoolClassFactory, StudentFactory, UserFactory
from tests.students.progress_helpers import add_record

pytestmark = pytest.mark.django_db


@pytest.fixture
def year():
    """Today's school year: its third grade graduates when it closes (today)."""
    today = timezone.localdate()
    school_year = school_year_of(today)
    graduate = StudentFactory(
        name="毕业生", school_class=SchoolClassFactory(entry_year=school_year - 2)
    )
    staying = StudentFactory(
        name="高二学生", school_class=SchoolClassFactory(entry_year=school_year - 1)
    )
    day = today - timedelta(days=3)
    records = {
        "graduate_notice": add_record(graduate, day=day, status=RecordStatus.IN_NOTICE),
        "graduate_disputed": add_record(
            graduate, day=day - timedelta(days=1), status=RecordStatus.DISPUTED
        ),
        "staying_notice": add_record(staying, day=day, status=RecordStatus.IN_NOTICE),
    }
    return type(
        "Year",
        (),
        {"today": today, "graduate": graduate, "staying": staying, "records": records},
    )


def status(record):
    return PracticeRecord.objects.get(pk=record.pk).status


def test_the_plan_counts_and_changes_nothing(year):
    plan = school_year_close_plan(closed_on=year.today, grace_days=30)
    assert (plan.graduates, plan.records_to_finalise, plan.disputes_open) == (1, 1, 1)
    assert plan.graduating_entry_year == year.graduate.school_class.entry_year
    assert plan.logins_disable_on == year.today + timedelta(days=30)
    assert plan.done is None
    assert status(year.records["graduate_notice"]) == RecordStatus.IN_NOTICE
    assert not SchoolYearClose.objects.exists()


def test_closing_finalises_graduates_only_and_a_second_close_changes_nothing(year):
    close, created = school_year_close(closed_on=year.today, closed_by=None, grace_days=30)
    assert created and close.records_finalised == 1
    assert status(year.records["graduate_notice"]) == RecordStatus.FINAL
    assert status(year.records["graduate_disputed"]) == RecordStatus.DISPUTED
    assert status(year.records["staying_notice"]) == RecordStatus.IN_NOTICE
    year.graduate.user.refresh_from_db()
    assert year.graduate.user.is_active  # within the grace period
    again, created_again = school_year_close(
        closed_on=year.today - timedelta(days=1), closed_by=None, grace_days=0
    )
    assert (again.pk, created_again) == (close.pk, False)
    assert SchoolYearClose.objects.count() == 1
    assert AuditLog.objects.filter(action="school_year.close").count() == 1
    year.graduate.user.refresh_from_db()
    assert year.graduate.user.is_active


def test_graduates_records_go_out_in_the_next_export(year):
    school_year_close(closed_on=year.today, closed_by=None)
    batch, _ = export_batch_create(kind="delta", period="T-year")
    export_batch_run(batch_id=batch.pk)
    exported = set(ExportedLine.objects.values_list("record_id", flat=True))
    assert year.records["graduate_notice"].pk in exported
    assert year.records["staying_notice"].pk not in exported


def test_logins_are_disabled_after_the_grace_period_and_verification_stays(year, client):
    add_record(year.graduate, day=year.today - timedelta(days=40))
    certificate = certificate_issue(student=year.graduate, issued_by=None)
    close, _ = school_year_close(closed_on=year.today, closed_by=None, grace_days=10)
    assert graduate_logins_disable_due(today=year.today + timedelta(days=9)) == 0
    assert graduate_logins_disable_due(today=year.today + timedelta(days=10)) == 1
    assert graduate_logins_disable_due(today=year.today + timedelta(days=11)) == 0
    year.graduate.user.refresh_from_db()
    year.staying.user.refresh_from_db()
    assert not year.graduate.user.is_active and year.staying.user.is_active
    assert not client.login(username=year.graduate.user.username, password=PASSWORD)
    response = client.get(f"/verify/{certificate.code}/")
    assert response.status_code == 200
    assert 'data-testid="verify-result"' in response.content.decode()
    close.refresh_from_db()
    assert close.logins_disabled_at is not None


def test_grace_zero_disables_at_once(year):
    school_year_close(closed_on=year.today, closed_by=None, grace_days=0)
    year.graduate.user.refresh_from_db()
    assert not year.graduate.user.is_active


def test_grades_move_up_by_themselves_on_the_first_of_september(year):
    klass = year.staying.school_class
    next_september = date(school_year_of(year.today) + 1, 9, 1)
    assert klass.grade_on(next_september - timedelta(days=1)) == 2
    assert klass.grade_on(next_september) == 3


def test_a_date_in_the_future_is_refused(year):
    from students.school_year import SchoolYearError

    with pytest.raises(SchoolYearError) as error:
        school_year_close(closed_on=year.today + timedelta(days=1), closed_by=None)
    assert error.value.code == "future_date"
    assert not SchoolYearClose.objects.exists()


def test_the_command_shows_a_dry_run_then_closes_once(year):
    out = io.StringIO()
    call_command("close_school_year", "--on", year.today.isoformat(), "--dry-run", stdout=out)
    assert "1 graduates" in out.getvalue() and "Dry run" in out.getvalue()
    assert not SchoolYearClose.objects.exists()
    call_command("close_school_year", "--on", year.today.isoformat(), stdout=out)
    assert SchoolYearClose.objects.count() == 1
    out = io.StringIO()
    call_command("close_school_year", "--on", year.today.isoformat(), stdout=out)
    assert "nothing to do" in out.getvalue()


def test_the_city_admin_previews_then_closes_on_the_page(year, client):
    admin = UserFactory(role=Role.CITY_ADMIN)
    client.force_login(admin)
    url = "/school-year/close/"
    page = client.get(url, {"closed_on": year.today.isoformat(), "grace_days": 30}).content
    html = page.decode()
    assert 'data-testid="plan-graduates">1<' in html and 'data-testid="plan-records">1<' in html
    assert not SchoolYearClose.objects.exists()
    response = client.post(
        url, {"closed_on": year.today.isoformat(), "grace_days": 30, "confirm": "1"}
    )
    assert response.status_code == 302
    close = SchoolYearClose.objects.get()
    assert close.closed_by == admin
    html = client.get(url, {"closed_on": year.today.isoformat(), "grace_days": 30}).content
    assert 'data-testid="already-closed"' in html.decode()


def test_only_the_city_admin_may_close(year, client):
    client.force_login(year.graduate.user)
    response = client.post(
        "/school-year/close/", {"closed_on": year.today.isoformat(), "grace_days": 0, "confirm": 1}
    )
    assert response.status_code in (403, 404)
    assert not SchoolYearClose.objects.exists()


def test_the_database_refuses_a_close_whose_graduates_are_not_its_third_grade():
    from tests.constraint_helpers import refused

    with refused(SchoolYearClose, "school_year_close_graduating_cohort"):
        SchoolYearClose.objects.create(
            school_year=2026,
            closed_on=date(2027, 7, 1),
            graduating_entry_year=2025,
            grace_days=90,
            logins_disable_on=date(2027, 9, 29),
        )
