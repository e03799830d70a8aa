"""The progress selector against a plain, obviously-correct computation over random ledgers."""

import itertools
from collections import defaultdict
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from students.models import (
    Category,
    OrganiserLevel,
    PracticeRecord,
    RecordedVia,
    RequirementPolicy,
)
from students.progress import (
    Forecast,
    Tally,
    credit_hours,
    measure_forecast,
    progress_for_student,
    progress_for_students,
    progress_from_records,
    progress_stream,
    requirement_window,
)
from students.selectors import volunteer_minutes_by_student
from tests.factories import SchoolClassFactory, StudentFactory, category
from tests.queries import queries_for

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
TODAY = date(2026, 3, 15)
_refs = itertools.count(1)


# ------------------------------------------------------------------------------
# The plain computation
# ------------------------------------------------------------------------------
def plain_dates(start: datetime, end: datetime) -> list[date]:
    """Every Shanghai date whose day [00:00, 24:00) overlaps [start, end)."""
    day = start.astimezone(SHANGHAI).date()
    dates = []
    while datetime.combine(day, time(0), SHANGHAI) < end:
        dates.append(day)
        day += timedelta(days=1)
    return dates


def school_year(day: date) -> int:
    return day.year if day.month >= 9 else day.year - 1


def plain_tally(records, volunteer_ids) -> Tally:
    return Tally(
        records=len(records),
        minutes=sum(r.credited_minutes for r in records),
        volunteer_minutes=sum(
            r.credited_minutes for r in records if r.category_id in volunteer_ids
        ),
        days=len({d for r in records for d in plain_dates(r.started_at, r.ended_at)}),
    )


def plain_progress(records, volunteer_ids, entry_year) -> dict:
    counted = [r for r in records if r.status in ("in_notice", "final")]
    by_category = defaultdict(list)
    for r in counted:
        by_category[r.category_id].append(r)
    years_minutes = defaultdict(lambda: [0, 0, 0])
    years_dates = defaultdict(set)
    for r in counted:
        # Before the first school year (新生军训 in August) counts in the first.
        year = max(school_year(r.started_at.astimezone(SHANGHAI).date()), entry_year)
        years_minutes[year][0] += 1
        years_minutes[year][1] += r.credited_minutes
        if r.category_id in volunteer_ids:
            years_minutes[year][2] += r.credited_minutes
        for d in plain_dates(r.started_at, r.ended_at):
            years_dates[max(school_year(d), entry_year)].add(d)
    years = {
        year: Tally(*years_minutes[year], len(years_dates[year]))
        for year in set(years_minutes) | set(years_dates)
    }
    months_minutes = defaultdict(lambda: [0, 0, 0])
    months_dates = defaultdict(set)
    for r in counted:
        start = r.started_at.astimezone(SHANGHAI).date()
        key = (start.year, start.month)
        months_minutes[key][0] += 1
        months_minutes[key][1] += r.credited_minutes
        if r.category_id in volunteer_ids:
            months_minutes[key][2] += r.credited_minutes
        for d in plain_dates(r.started_at, r.ended_at):
            months_dates[(d.year, d.month)].add(d)
    months = {
        key: Tally(*months_minutes[key], len(months_dates[key]))
        for key in set(months_minutes) | set(months_dates)
    }
    total = plain_tally(counted, volunteer_ids)
    return {
        "volunteer_minutes": total.volunteer_minutes,
        "practice_days": total.days,
        "records": total.records,
        "by_category": {cid: plain_tally(rs, volunteer_ids) for cid, rs in by_category.items()},
        "by_school_year": years,
        "by_month": months,
        "disputed": plain_tally([r for r in records if r.status == "disputed"], volunteer_ids),
        "revoked": plain_tally([r for r in records if r.status == "revoked"], volunteer_ids),
    }


def as_dict(progress) -> dict:
    return {
        "volunteer_minutes": progress.volunteer_minutes,
        "practice_days": progress.practice_days,
        "records": progress.records,
        "by_category": progress.by_category,
        "by_school_year": progress.by_school_year,
        "by_month": progress.by_month,
        "disputed": progress.disputed,
        "revoked": progress.revoked,
    }


# ------------------------------------------------------------------------------
# Random ledgers
# ------------------------------------------------------------------------------
EDGE_MINUTES = [0, 1, 30, 8 * 60, 22 * 60, 23 * 60, 23 * 60 + 30, 23 * 60 + 59]
EDGE_DURATIONS = [1, 60, 120, 24 * 60, 2 * 24 * 60, 5 * 24 * 60]
STATUSES = ["in_notice", "final", "final", "disputed", "revoked"]

record_strategy = st.fixed_dictionaries(
    {
        "student": st.integers(0, 2),
        "category": st.integers(0, 5),
        "status": st.sampled_from(STATUSES),
        # Around the school year boundaries of 2024 and 2025.
        "day": st.integers(0, 500),
        "minute": st.one_of(st.sampled_from(EDGE_MINUTES), st.integers(0, 24 * 60 - 1)),
        "duration": st.one_of(st.sampled_from(EDGE_DURATIONS), st.integers(1, 6 * 24 * 60)),
        "credit": st.floats(0, 1),
    }
)


@pytest.fixture
def ledger_world():
    classes = [SchoolClassFactory(entry_year=year) for year in (2023, 2024, 2025)]
    students = [StudentFactory(school_class=school_class) for school_class in classes]
    categories = list(Category.objects.order_by("sort_order"))
    return students, categories


def make_record(student, category, spec) -> PracticeRecord:
    local_start = datetime(2024, 8, 1, tzinfo=SHANGHAI) + timedelta(
        days=spec["day"], minutes=spec["minute"]
    )
    start = local_start.astimezone(ZoneInfo("UTC"))
    end = start + timedelta(minutes=spec["duration"])
    status = spec["status"]
    return PracticeRecord(
        student=student,
        source_ref=f"test:{next(_refs)}",
        category=category,
        title="活动",
        organiser_name="组织者",
        organiser_level=OrganiserLevel.DISTRICT,
        started_at=start,
        ended_at=end,
        credited_minutes=int(spec["duration"] * spec["credit"]),
        recorded_via=RecordedVia.IMPORT,
        status=status,
        notice_ends_on=date(2026, 1, 1) if status == "in_notice" else None,
        confirmed_at=timezone.now() if status == "final" else None,
    )


@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(specs=st.lists(record_strategy, max_size=25))
def test_it_matches_a_plain_computation_over_random_ledgers(ledger_world, specs):
    students, categories = ledger_world
    records = PracticeRecord.objects.bulk_create(
        [make_record(students[s["student"]], categories[s["category"]], s) for s in specs]
    )
    try:
        volunteer_ids = {c.pk for c in categories if c.counts_as_volunteer_service}
        progress = progress_for_students([s.pk for s in students], today=TODAY)
        streamed = dict(
            (values["pk"], p)
            for values, p in progress_stream(
                type(students[0]).objects.filter(pk__in=[s.pk for s in students]), today=TODAY
            )
        )
        counted = {
            values["pk"]: p
            for values, p in progress_stream(
                type(students[0]).objects.filter(pk__in=[s.pk for s in students]),
                today=TODAY,
                detail=False,
            )
        }
        for student in students:
            own = [r for r in records if r.student_id == student.pk]
            expected = plain_progress(own, volunteer_ids, student.school_class.entry_year)
            assert as_dict(progress[student.pk]) == expected
            assert as_dict(streamed[student.pk]) == expected
            totals = as_dict(counted[student.pk])
            assert totals == expected | {"by_category": {}, "by_school_year": {}, "by_month": {}}
            assert counted[student.pk].forecast == progress[student.pk].forecast
            loaded = progress_from_records(student=student, records=own, today=TODAY)
            assert as_dict(loaded) == expected
    finally:
        PracticeRecord.objects.filter(pk__in=[r.pk for r in records]).delete()


def test_a_record_past_midnight_in_shanghai_credits_both_dates(ledger_world):
    students, categories = ledger_world
    start = datetime(2025, 10, 10, 22, 0, tzinfo=SHANGHAI)
    PracticeRecord.objects.bulk_create(
        [
            make_record(students[2], categories[0], spec)
            for spec in [
                # 22:00 to 01:00 the next day: two dates.
                {"day": 70, "minute": 22 * 60, "duration": 180, "credit": 1, "status": "final"},
                # 22:00 to exactly midnight: one date, the end is exclusive.
                {"day": 75, "minute": 22 * 60, "duration": 120, "credit": 1, "status": "final"},
            ]
        ]
    )
    progress = progress_for_student(student=students[2], today=TODAY)
    assert start.date() == date(2025, 10, 10)
    assert progress.practice_days == 3
    assert progress.volunteer_minutes == 300


def test_a_three_day_rural_practice_credits_three_days_and_no_volunteer_minutes(ledger_world):
    students, categories = ledger_world
    rural = category("rural_practice")
    spec = {"day": 80, "minute": 8 * 60, "duration": 2 * 24 * 60 + 9 * 60, "credit": 0.5}
    PracticeRecord.objects.bulk_create(
        [make_record(students[0], rural, spec | {"status": "final"})]
    )
    progress = progress_for_student(student=students[0], today=TODAY)
    assert progress.practice_days == 3
    assert progress.volunteer_minutes == 0
    assert progress.category(rural.pk).days == 3


def test_disputed_and_revoked_records_are_shown_apart_and_never_count(ledger_world):
    students, categories = ledger_world
    base = {"minute": 9 * 60, "duration": 240, "credit": 1}
    PracticeRecord.objects.bulk_create(
        [
            make_record(students[1], categories[0], base | {"day": 10, "status": "disputed"}),
            make_record(students[1], categories[0], base | {"day": 11, "status": "revoked"}),
            make_record(students[1], categories[0], base | {"day": 12, "status": "in_notice"}),
        ]
    )
    progress = progress_for_student(student=students[1], today=TODAY)
    assert (progress.volunteer_minutes, progress.practice_days) == (240, 1)
    assert progress.disputed == Tally(records=1, minutes=240, volunteer_minutes=240, days=1)
    assert progress.revoked == Tally(records=1, minutes=240, volunteer_minutes=240, days=1)


def test_it_reads_the_policy_in_force_for_the_entry_year(ledger_world):
    students, _ = ledger_world
    RequirementPolicy.objects.create(
        effective_from_entry_year=2025,
        volunteer_hours_required=30,
        practice_days_required=45,
        minutes_per_credit_hour=45,
    )
    progress = progress_for_students([s.pk for s in students], today=TODAY)
    assert (progress[students[0].pk].hours_required, progress[students[0].pk].days_required) == (
        60,
        90,
    )
    assert progress[students[2].pk].hours_required == 30
    assert progress[students[2].pk].minutes_required == 30 * 45


def test_its_number_of_queries_does_not_grow_with_the_students(ledger_world):
    students, categories = ledger_world
    more = [StudentFactory(school_class=students[0].school_class) for _ in range(20)]
    spec = {"day": 40, "minute": 600, "duration": 60, "credit": 1, "status": "final"}
    PracticeRecord.objects.bulk_create([make_record(s, categories[0], spec) for s in more])
    for ids in ([students[0].pk], [s.pk for s in students + more]):
        count, _ = queries_for(lambda ids=ids: progress_for_students(ids, today=TODAY))
        assert count == 3
    everyone = type(students[0]).objects.all()
    for queryset in (everyone.filter(pk__in=[s.pk for s in students[:2]]), everyone):
        count, streamed = queries_for(
            lambda queryset=queryset: list(progress_stream(queryset, today=TODAY))
        )
        assert count == 3
    assert len(streamed) == 23


def test_volunteer_minutes_by_student_reads_the_same_selector(ledger_world):
    students, categories = ledger_world
    spec = {"day": 40, "minute": 600, "duration": 90, "credit": 1, "status": "final"}
    PracticeRecord.objects.bulk_create([make_record(students[0], categories[0], spec)])
    assert volunteer_minutes_by_student(student_ids=[students[0].pk, students[1].pk, 999999]) == {
        students[0].pk: 90,
        students[1].pk: 0,
        999999: 0,
    }


def test_credit_hours_round_down_to_one_decimal():
    assert credit_hours(2399, 40) == credit_hours(2398, 40) < 60
    assert str(credit_hours(540, 40)) == "13.5"


# ------------------------------------------------------------------------------
# The forecast
# ------------------------------------------------------------------------------
RANK = {Forecast.DONE: 0, Forecast.ON_TRACK: 1, Forecast.AT_RISK: 2, Forecast.BEHIND: 3}
days_strategy = st.dates(date(2022, 1, 1), date(2030, 12, 31))


@given(
    entry_year=st.integers(2023, 2026),
    today=days_strategy,
    done=st.integers(0, 200),
    more=st.integers(0, 50),
    required=st.integers(1, 120),
)
def test_doing_more_never_makes_the_forecast_worse(entry_year, today, done, more, required):
    before = measure_forecast(done=done, required=required, entry_year=entry_year, today=today)
    after = measure_forecast(
        done=done + more, required=required, entry_year=entry_year, today=today
    )
    assert RANK[after] <= RANK[before]
    assert (before == Forecast.DONE) == (done >= required)


@given(
    entry_year=st.integers(2023, 2026),
    today=days_strategy,
    later=st.integers(0, 800),
    done=st.integers(0, 90),
)
def test_time_passing_without_progress_never_makes_the_forecast_better(
    entry_year, today, later, done
):
    now = measure_forecast(done=done, required=90, entry_year=entry_year, today=today)
    then = measure_forecast(
        done=done, required=90, entry_year=entry_year, today=today + timedelta(days=later)
    )
    assert RANK[then] >= RANK[now]


@given(entry_year=st.integers(2023, 2026), done=st.integers(0, 89), after=st.integers(0, 400))
def test_before_the_first_year_everyone_is_on_track_and_after_the_deadline_behind(
    entry_year, done, after
):
    start, end = requirement_window(entry_year)
    assert measure_forecast(done=done, required=90, entry_year=entry_year, today=start) == (
        Forecast.ON_TRACK
    )
    late = end + timedelta(days=after)
    assert measure_forecast(done=done, required=90, entry_year=entry_year, today=late) == (
        Forecast.BEHIND
    )


@pytest.mark.parametrize(
    "done, expected",
    [(90, "done"), (45, "on_track"), (41, "on_track"), (30, "at_risk"), (4, "behind")],
)
def test_half_way_through_the_three_years(done, expected):
    # 1 March 2027 is about 53 % of the way from 1 Sep 2025 to 1 Jul 2028.
    result = measure_forecast(done=done, required=90, entry_year=2025, today=date(2027, 3, 1))
    assert result == expected


def test_the_student_forecast_is_the_worse_of_the_two_measures(ledger_world):
    students, categories = ledger_world
    # Entry 2023, mid-March 2026: about 90 % of the time gone. 80 days of volunteer work, 3 h each.
    specs = [
        {"day": d, "minute": 540, "duration": 180, "credit": 1, "status": "final"}
        for d in range(80)
    ]
    PracticeRecord.objects.bulk_create([make_record(students[0], categories[0], s) for s in specs])
    progress = progress_for_student(student=students[0], today=TODAY)
    assert progress.hours_forecast == Forecast.DONE
    assert progress.days_forecast == Forecast.ON_TRACK
    assert progress.forecast == Forecast.ON_TRACK
    assert (progress.hours_percent, progress.days_percent) == (100, 88)
