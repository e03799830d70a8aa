"""The totals-only path of the completion reports against the full progress selector."""

from datetime import date
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from students.models import PracticeRecord, Student
from students.progress import (
    PLAUSIBLE_PACE,
    SLACK,
    Forecast,
    elapsed_share,
    measure_forecast,
    progress_for_students,
    progress_stream,
    progress_totals_stream,
    requirement_window,
)
from tests.factories import StudentFactory
from tests.queries import queries_for
from tests.students.test_progress import (  # noqa: F401  (ledger_world is a fixture)
    TODAY,
    ledger_world,
    make_record,
    record_strategy,
)

pytestmark = pytest.mark.django_db

TOTALS = ("volunteer_minutes", "practice_days", "records", "hours_forecast", "days_forecast")


def figures(progress) -> tuple:
    return tuple(getattr(progress, name) for name in TOTALS) + (progress.forecast,)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(specs=st.lists(record_strategy, max_size=25))
def test_the_totals_match_the_full_selector_over_random_ledgers(ledger_world, specs):  # noqa: F811
    """Multi-day records (up to six days), records past midnight and every status included."""
    students, categories = ledger_world
    records = PracticeRecord.objects.bulk_create(
        [make_record(students[s["student"]], categories[s["category"]], s) for s in specs]
    )
    try:
        ids = [s.pk for s in students]
        full = progress_for_students(ids, today=TODAY)
        streamed = {
            values["pk"]: p
            for values, p in progress_stream(
                Student.objects.filter(pk__in=ids), today=TODAY, detail=False
            )
        }
        for queryset in (Student.objects.filter(pk__in=ids), Student.objects.all()):
            fields = ("school_class_id", "school_class__school__district_id")
            totals = list(progress_totals_stream(queryset, fields=fields, today=TODAY))
            assert [values["pk"] for values, _ in totals] == sorted(ids)
            for values, p in totals:
                student = next(s for s in students if s.pk == values["pk"])
                assert figures(p) == figures(full[student.pk]) == figures(streamed[student.pk])
                assert values["school_class__entry_year"] == student.school_class.entry_year
                assert values["school_class_id"] == student.school_class_id
                assert values["school_class__school__district_id"] == (
                    student.school_class.school.district_id
                )
                assert (p.hours_done, p.days_done) == (
                    full[student.pk].hours_done,
                    full[student.pk].days_done,
                )
    finally:
        PracticeRecord.objects.filter(pk__in=[r.pk for r in records]).delete()


def test_the_totals_take_two_queries_whatever_the_students(ledger_world):  # noqa: F811
    students, categories = ledger_world
    students = students + StudentFactory.create_batch(9, school_class=students[0].school_class)
    spec = {"day": 40, "minute": 600, "duration": 3 * 24 * 60, "credit": 1, "status": "final"}
    PracticeRecord.objects.bulk_create([make_record(s, categories[0], spec) for s in students])

    def totals(queryset):
        return queries_for(
            lambda: [p for _values, p in progress_totals_stream(queryset, today=TODAY)]
        )

    small, few = totals(Student.objects.filter(pk__in=[s.pk for s in students[:2]]))
    large, many = totals(Student.objects.all())
    assert (len(few), len(many)) == (2, 12)
    # The policies, and one statement for the students and totals.
    assert small == large == 2
    assert {p.practice_days for p in many} == {4}  # 10:00 + 3 days: four dates


def reference_forecast(*, done: int, required: int, entry_year: int, today: date) -> str:
    """The rule as written in measure_forecast's docstring, with fractions."""
    if done >= required:
        return Forecast.DONE
    if today >= requirement_window(entry_year)[1]:
        return Forecast.BEHIND
    share = Fraction(done, required)
    elapsed = elapsed_share(entry_year, today)
    if share >= elapsed - SLACK:
        return Forecast.ON_TRACK
    if 1 - share <= PLAUSIBLE_PACE * (1 - elapsed):
        return Forecast.AT_RISK
    return Forecast.BEHIND


@given(
    entry_year=st.integers(2022, 2027),
    today=st.dates(date(2021, 6, 1), date(2031, 12, 31)),
    done=st.integers(0, 4000),
    required=st.integers(1, 3600),
)
def test_the_integer_thresholds_give_the_fraction_rule(entry_year, today, done, required):
    assert measure_forecast(
        done=done, required=required, entry_year=entry_year, today=today
    ) == reference_forecast(done=done, required=required, entry_year=entry_year, today=today)
