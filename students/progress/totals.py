"""Totals only, mostly in the database, about one row per student: what `stored` keeps per
student for the completion reports (class, grade, school, district, city), and what the
reconciliation compares it with."""

from collections import namedtuple
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime
from typing import Any

from django.db import connection
from django.db.models import (
    Case,
    Count,
    DateTimeField,
    ExpressionWrapper,
    F,
    Max,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from ..models import Category, PracticeRecord, Student, dates_spanned
from ..models.ledger import ONE_MICROSECOND
from ..policies import PolicyBook
from .figures import StudentTotals
from .rules import COUNTED, forecasts

TOTALS_CHUNK = 2000
#: Part of a `_totals_sql` row: a student's totals, or one record of a held student.
STUDENT_PART, RECORD_PART = 0, 1


def _key(index: int) -> str:
    """The column of `_totals_sql` that holds `fields[index]`."""
    return f"key_{index}"


def _columns(fields: tuple[str, ...]) -> tuple[str, ...]:
    """The names of `_totals_sql`'s columns, in order."""
    keys = tuple(_key(index) for index in range(len(fields)))
    return (
        "student_id", "part", "entry_year", *keys,
        "minutes", "records", "days", "spans", "started_at", "ended_at",
    )  # fmt: skip


def _totals_sql(students: QuerySet[Student], fields: tuple[str, ...]) -> tuple[str, tuple]:
    """One statement: per student, volunteer minutes, records and distinct start dates; and
    the counted records of the few students who have a record spanning several dates.

    Columns `_columns(fields)`. A row of part STUDENT_PART, with `started_at` and `ended_at`
    NULL, for every student of `students`; when its `spans` is 1, it is followed by rows of
    part RECORD_PART (only `student_id`, `started_at`, `ended_at` set), one per counted record
    of that student.

    The database groups the counted records by student and local start date (as the ledger
    query does, without category and status) and then by student: about one row per student
    reaches Python. A student's practice days are the distinct local dates their records
    touch; when every record stays within the date it starts on, that is the number of
    distinct start dates. Otherwise (学农, 军训, a record past midnight) Python unions the dates
    of each record (`dates_spanned`), so the figure stays exact.
    """
    tz = timezone.get_default_timezone()
    counted = PracticeRecord.objects.filter(status__in=COUNTED)
    if students.query.has_filters():
        counted = counted.filter(student__in=students.order_by().values("pk"))
    volunteer = Category.objects.filter(counts_as_volunteer_service=True).values("pk")
    last_end = ExpressionWrapper(Max("ended_at") - ONE_MICROSECOND, output_field=DateTimeField())
    by_date = (
        counted.order_by()
        .annotate(totals_first=TruncDate("started_at", tzinfo=tz))
        .values("student_id", "totals_first")
        .annotate(
            totals_minutes=Sum(
                Case(When(category_id__in=volunteer, then="credited_minutes"), default=Value(0))
            ),
            totals_records=Count("id"),
            totals_last=TruncDate(last_end, tzinfo=tz),
        )
    )
    names = {f"totals_key_{index}": F(name) for index, name in enumerate(fields)}
    people = (
        students.order_by()
        .annotate(totals_sid=F("pk"), totals_year=F("school_class__entry_year"), **names)
        .values_list("totals_sid", "totals_year", *names)
    )
    spans = counted.order_by().values_list("student_id", "started_at", "ended_at")
    by_date_sql, by_date_params = by_date.query.sql_with_params()
    people_sql, people_params = people.query.sql_with_params()
    spans_sql, spans_params = spans.query.sql_with_params()
    student_part = ", ".join(
        f"{value} AS {column}"
        for value, column in zip(
            ("s.totals_sid", str(STUDENT_PART), "s.totals_year", *(f"s.{n}" for n in names),
             "t.minutes", "t.records", "t.days", "t.spans", "NULL", "NULL"),
            _columns(fields),
            strict=True,
        )
    )  # fmt: skip
    blanks = ", NULL" * len(names)
    sql = f"""
WITH totals AS MATERIALIZED (
  SELECT d.student_id, SUM(d.totals_minutes) AS minutes, SUM(d.totals_records) AS records,
         COUNT(*) AS days, MAX(CASE WHEN d.totals_last > d.totals_first THEN 1 ELSE 0 END) AS spans
  FROM ({by_date_sql}) d
  GROUP BY d.student_id
)
SELECT {student_part}
FROM ({people_sql}) s LEFT JOIN totals t ON t.student_id = s.totals_sid
UNION ALL
SELECT r.student_id, {RECORD_PART}, NULL{blanks}, NULL, NULL, NULL, NULL, r.started_at, r.ended_at
FROM ({spans_sql}) r
WHERE r.student_id IN (SELECT student_id FROM totals WHERE spans = 1)
ORDER BY 1, 2"""
    return sql, (*by_date_params, *people_params, *spans_params)


def _as_datetime(value: Any) -> datetime:
    """A date-time from a raw cursor: SQLite gives text (UTC), PostgreSQL an aware value."""
    if isinstance(value, str):
        value = parse_datetime(value)
    if timezone.is_naive(value):
        value = timezone.make_aware(value, connection.timezone or UTC)
    return value


def ledger_totals(
    students: QuerySet[Student], *, fields: Iterable[str] = ()
) -> Iterator[tuple[Any, int]]:
    """(row, practice days) for every student of a queryset, in student id order, read from
    the ledger in one statement (`_totals_sql`): `row` has `student_id`, `entry_year`,
    `minutes` (volunteer, None without counted records), `records` and `fields` as
    `key_<index>`. The one computation of the totals; `progress_totals_stream` adds the
    forecasts, `stored` keeps them per student."""
    fields = tuple(fields)
    sql, params = _totals_sql(students, fields)
    Row = namedtuple("TotalsRow", _columns(fields))
    held: Any = None  # a student's row with a multi-date record, waiting for its records
    dates: set[date] = set()
    with connection.chunked_cursor() as cursor:
        cursor.execute(sql, params)
        while chunk := cursor.fetchmany(TOTALS_CHUNK):
            for row in map(Row._make, chunk):
                if row.part == RECORD_PART:  # a record of the held student
                    started_at = _as_datetime(row.started_at)
                    dates.update(dates_spanned(started_at, _as_datetime(row.ended_at)))
                    continue
                if held is not None:
                    yield held, len(dates)
                    held = None
                if row.spans == 1:
                    held, dates = row, set()
                else:
                    yield row, int(row.days or 0)
    if held is not None:
        yield held, len(dates)


def progress_totals_stream(
    students: QuerySet[Student], *, fields: Iterable[str] = (), today: date | None = None
) -> Iterator[tuple[dict, StudentTotals]]:
    """(student values, totals) for every student of a queryset, in student id order.

    The totals read from the ledger, in two queries whatever the number of students (the
    policies, and `_totals_sql`), about one row per student: the ledger stays in the
    database. The figures and forecasts are those of `progress_stream` (tests hold them
    equal on random ledgers); the breakdowns and the disputed and revoked tallies are not
    computed. `fields` names extra Student values, as for `progress_stream`. (The completion
    reports read the same totals as stored per student: `stored.completion_figures`.)
    """
    today = today or timezone.localdate()
    fields = tuple(fields)
    policies = PolicyBook()
    for row, practice_days in ledger_totals(students, fields=fields):
        policy = policies.for_entry_year(row.entry_year)
        volunteer_minutes = int(row.minutes or 0)
        hours_forecast, days_forecast = forecasts(
            policy=policy,
            entry_year=row.entry_year,
            today=today,
            volunteer_minutes=volunteer_minutes,
            practice_days=practice_days,
        )
        values = {"pk": row.student_id, "school_class__entry_year": row.entry_year}
        values.update((name, getattr(row, _key(index))) for index, name in enumerate(fields))
        yield (
            values,
            StudentTotals(
                student_id=row.student_id,
                entry_year=row.entry_year,
                today=today,
                hours_required=policy.volunteer_hours_required,
                days_required=policy.practice_days_required,
                minutes_per_credit_hour=policy.minutes_per_credit_hour,
                volunteer_minutes=volunteer_minutes,
                practice_days=practice_days,
                records=int(row.records or 0),
                hours_forecast=hours_forecast,
                days_forecast=days_forecast,
            ),
        )
