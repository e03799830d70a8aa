"""Progress toward the requirement: the one computation every page, report and export reads.

A student's progress has two measures (design.md §3), both read from the ledger only:

- volunteer service: the credited minutes of records whose category counts as volunteer service,
  shown as 学时 (minutes / the policy's `minutes_per_credit_hour`) against
  `volunteer_hours_required`;
- practice days: the distinct calendar dates in Asia/Shanghai touched by any record of any
  category, against `practice_days_required`; a record spanning several dates (学农, 军训, or one
  that runs past midnight) credits each date it spans (`models.dates_spanned`).

Records `in_notice` and `final` count; `disputed` and `revoked` ones are tallied apart and never
count. Figures are split by category and by school year (a school year starts on 1 September):
a record's minutes belong to the date it starts on, its days to the dates they fall on.

The ledger is read with one aggregate query, grouped by student, category, status and the local
date a record starts on (summing minutes and keeping the latest end): records that start on the
same date span, together, that date up to the latest of their last dates.
"""

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_DOWN, Decimal
from fractions import Fraction
from functools import lru_cache
from typing import Any

from django.db import connection, models
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
from django.utils.translation import gettext_lazy as _

from .models import Category, PracticeRecord, RecordStatus, RequirementPolicy, Student

COUNTED = (RecordStatus.IN_NOTICE, RecordStatus.FINAL)
SCHOOL_YEAR_START_MONTH = 9
# Graduation is in June of the third school year: the requirement must be met by 1 July.
DEADLINE_MONTH = 7
# Practice comes in bursts (holidays, a 学农 week), so a student may lag the steady pace by
# this share of the three years (about three months) and still be on track.
SLACK = Fraction(1, 12)
# The fastest pace a student can plausibly keep for the rest: twice the steady pace.
PLAUSIBLE_PACE = 2


class Forecast(models.TextChoices):
    DONE = "done", _("Done")
    ON_TRACK = "on_track", _("On track")
    AT_RISK = "at_risk", _("At risk")
    BEHIND = "behind", _("Behind")


FORECAST_RANK = {Forecast.DONE: 0, Forecast.ON_TRACK: 1, Forecast.AT_RISK: 2, Forecast.BEHIND: 3}


def school_year_of(day: date) -> int:
    """The calendar year a school year starts in: 2025 for 2025-09-01 .. 2026-08-31."""
    return day.year if day.month >= SCHOOL_YEAR_START_MONTH else day.year - 1


def school_year_label(year: int) -> str:
    return f"{year}-{year + 1}"


def requirement_window(entry_year: int) -> tuple[date, date]:
    """[1 September of the entry year, 1 July of the graduation year): the three school years."""
    return date(entry_year, SCHOOL_YEAR_START_MONTH, 1), date(entry_year + 3, DEADLINE_MONTH, 1)


def elapsed_share(entry_year: int, today: date) -> Fraction:
    """How much of the three school years has passed on `today`, from 0 to 1."""
    start, end = requirement_window(entry_year)
    share = Fraction((today - start).days, (end - start).days)
    return min(max(share, Fraction(0)), Fraction(1))


def measure_forecast(*, done: int, required: int, entry_year: int, today: date) -> str:
    """The forecast for one measure (minutes or days) against what it requires.

    - done: `done >= required`.
    - behind: not done and the deadline (1 July of the graduation year) has come.
    - on_track: the share done is at least the share of time elapsed, less SLACK
      (`done / required >= elapsed - 1/12`): at the pace so far the student finishes in time.
    - at_risk: below that, but what remains can still be done at no more than PLAUSIBLE_PACE
      times the steady pace over the time left (`1 - done/required <= 2 * (1 - elapsed)`).
    - behind: further below than that.

    The two fractions are turned once per (required, entry year, day) into the least whole
    amount done that reaches them (`_thresholds`), so a report over 200,000 students compares
    integers; `done` is a whole number of minutes or days.
    """
    if done >= required:
        return Forecast.DONE
    deadline_passed, on_track_from, at_risk_from = _thresholds(required, entry_year, today)
    if deadline_passed:
        return Forecast.BEHIND
    if done >= on_track_from:
        return Forecast.ON_TRACK
    if done >= at_risk_from:
        return Forecast.AT_RISK
    return Forecast.BEHIND


@lru_cache(maxsize=4096)
def _thresholds(required: int, entry_year: int, today: date) -> tuple[bool, int, int]:
    """(deadline passed, least whole `done` on track, least whole `done` at risk).

    `done / required >= elapsed - SLACK` holds for a whole `done` exactly when
    `done >= ceil(required * (elapsed - SLACK))`; `1 - done / required <= PLAUSIBLE_PACE *
    (1 - elapsed)` exactly when `done >= ceil(required * (1 - PLAUSIBLE_PACE * (1 - elapsed)))`.
    """
    elapsed = elapsed_share(entry_year, today)
    return (
        today >= requirement_window(entry_year)[1],
        math.ceil(required * (elapsed - SLACK)),
        math.ceil(required * (1 - PLAUSIBLE_PACE * (1 - elapsed))),
    )


def combined_forecast(*forecasts: str) -> str:
    """The student's forecast is the worse of the two measures'."""
    return max(forecasts, key=lambda value: FORECAST_RANK[value])


@dataclass(frozen=True)
class Tally:
    """Records, credited minutes (all and volunteer only) and distinct practice days."""

    records: int = 0
    minutes: int = 0
    volunteer_minutes: int = 0
    days: int = 0


@dataclass
class _Counter:
    records: int = 0
    minutes: int = 0
    volunteer_minutes: int = 0
    dates: set[date] = field(default_factory=set)

    def add(self, *, records: int, minutes: int, volunteer: bool, dates: Iterable[date]) -> None:
        self.records += records
        self.minutes += minutes
        self.volunteer_minutes += minutes if volunteer else 0
        self.dates.update(dates)

    def tally(self) -> Tally:
        return Tally(self.records, self.minutes, self.volunteer_minutes, len(self.dates))


@dataclass(frozen=True)
class _Measures:
    """A student's two measures and forecasts, shared by StudentProgress and StudentTotals."""

    student_id: int
    entry_year: int
    today: date
    hours_required: int
    days_required: int
    minutes_per_credit_hour: int
    volunteer_minutes: int
    practice_days: int
    records: int
    hours_forecast: str
    days_forecast: str

    @property
    def forecast(self) -> str:
        return combined_forecast(self.hours_forecast, self.days_forecast)

    @property
    def forecast_label(self) -> str:
        return Forecast(self.forecast).label

    @property
    def minutes_required(self) -> int:
        return self.hours_required * self.minutes_per_credit_hour

    @property
    def credit_hours(self) -> Decimal:
        """学时 credited, rounded down to one decimal so 59.98 never shows as 60."""
        return credit_hours(self.volunteer_minutes, self.minutes_per_credit_hour)

    @property
    def hours_done(self) -> bool:
        return self.volunteer_minutes >= self.minutes_required

    @property
    def days_done(self) -> bool:
        return self.practice_days >= self.days_required


@dataclass(frozen=True)
class StudentProgress(_Measures):
    """One student's progress against the policy in force for their entry year."""

    by_category: dict[int, Tally]
    by_school_year: dict[int, Tally]
    by_month: dict[tuple[int, int], Tally]
    disputed: Tally
    revoked: Tally

    @property
    def hours_percent(self) -> int:
        return min(100, self.volunteer_minutes * 100 // self.minutes_required)

    @property
    def days_percent(self) -> int:
        return min(100, self.practice_days * 100 // self.days_required)

    @property
    def elapsed_percent(self) -> int:
        return int(elapsed_share(self.entry_year, self.today) * 100)

    @property
    def deadline(self) -> date:
        return requirement_window(self.entry_year)[1] - timedelta(days=1)

    def category(self, category_id: int) -> Tally:
        return self.by_category.get(category_id, Tally())


def credit_hours(minutes: int, minutes_per_credit_hour: int) -> Decimal:
    hours = Decimal(minutes) / Decimal(minutes_per_credit_hour)
    return hours.quantize(Decimal("0.1"), rounding=ROUND_DOWN)


class _PolicyBook:
    """Every policy, loaded once; picks the one in force as `policy_for_entry_year` does."""

    def __init__(self) -> None:
        self.policies = list(RequirementPolicy.objects.order_by("effective_from_entry_year"))
        if not self.policies:
            raise RequirementPolicy.DoesNotExist("No requirement policy is configured.")
        self.cache: dict[int, RequirementPolicy] = {}

    def for_entry_year(self, entry_year: int) -> RequirementPolicy:
        if entry_year not in self.cache:
            earlier = [p for p in self.policies if p.effective_from_entry_year <= entry_year]
            self.cache[entry_year] = earlier[-1] if earlier else self.policies[0]
        return self.cache[entry_year]


def _ledger_rows(student_filter: dict[str, Any]) -> QuerySet:
    """The one aggregate query: per student, category, status and local start date."""
    return (
        PracticeRecord.objects.filter(**student_filter)
        .annotate(first=TruncDate("started_at", tzinfo=timezone.get_default_timezone()))
        .values(
            "student_id", "category_id", "category__counts_as_volunteer_service", "status", "first"
        )
        .annotate(minutes=Sum("credited_minutes"), records=Count("id"), last_end=Max("ended_at"))
        .order_by("student_id")
    )


ONE_MICROSECOND = timedelta(microseconds=1)


def _dates_from(first: date, last_end, tz) -> list[date]:
    """`first` up to the local date of the latest end; an end at midnight is exclusive."""
    last = (last_end - ONE_MICROSECOND).astimezone(tz).date()
    if last <= first:
        return [first]
    return [first + timedelta(days=offset) for offset in range((last - first).days + 1)]


def _build(
    *,
    student_id: int,
    entry_year: int,
    rows: list[dict],
    policy: RequirementPolicy,
    today: date,
    detail: bool = True,
) -> StudentProgress:
    """One student's progress from their ledger rows; `detail=False` skips the breakdowns
    (by category, school year and month) for reports that only count students."""
    tz = timezone.get_default_timezone()
    total, disputed, revoked = _Counter(), _Counter(), _Counter()
    categories: dict[int, _Counter] = {}
    years: dict[int, _Counter] = {}
    months: dict[tuple[int, int], _Counter] = {}
    for row in rows:
        dates = _dates_from(row["first"], row["last_end"], tz)
        status = row["status"]
        figures = {
            "records": row["records"],
            "minutes": row["minutes"],
            "volunteer": row["category__counts_as_volunteer_service"],
        }
        if status == RecordStatus.DISPUTED:
            disputed.add(**figures, dates=dates)
            continue
        if status == RecordStatus.REVOKED:
            revoked.add(**figures, dates=dates)
            continue
        total.add(**figures, dates=dates)
        if not detail:
            continue
        categories.setdefault(row["category_id"], _Counter()).add(**figures, dates=dates)
        first = row["first"]
        years.setdefault(school_year_of(first), _Counter()).add(**figures, dates=())
        months.setdefault((first.year, first.month), _Counter()).add(**figures, dates=())
        for day in dates:
            years.setdefault(school_year_of(day), _Counter()).dates.add(day)
            months.setdefault((day.year, day.month), _Counter()).dates.add(day)
    hours_forecast, days_forecast = _forecasts(
        policy=policy,
        entry_year=entry_year,
        today=today,
        volunteer_minutes=total.volunteer_minutes,
        practice_days=len(total.dates),
    )
    return StudentProgress(
        student_id=student_id,
        entry_year=entry_year,
        today=today,
        hours_required=policy.volunteer_hours_required,
        days_required=policy.practice_days_required,
        minutes_per_credit_hour=policy.minutes_per_credit_hour,
        volunteer_minutes=total.volunteer_minutes,
        practice_days=len(total.dates),
        records=total.records,
        by_category={key: counter.tally() for key, counter in categories.items()},
        by_school_year={key: years[key].tally() for key in sorted(years)},
        by_month={key: months[key].tally() for key in sorted(months)},
        disputed=disputed.tally(),
        revoked=revoked.tally(),
        hours_forecast=hours_forecast,
        days_forecast=days_forecast,
    )


def _forecasts(
    *,
    policy: RequirementPolicy,
    entry_year: int,
    today: date,
    volunteer_minutes: int,
    practice_days: int,
) -> tuple[str, str]:
    """(hours forecast, days forecast) of a student's two measures under `policy`."""
    minutes_required = policy.volunteer_hours_required * policy.minutes_per_credit_hour
    return (
        measure_forecast(
            done=volunteer_minutes, required=minutes_required, entry_year=entry_year, today=today
        ),
        measure_forecast(
            done=practice_days,
            required=policy.practice_days_required,
            entry_year=entry_year,
            today=today,
        ),
    )


def progress_for_entry_years(
    entry_years: dict[int, int], *, today: date | None = None
) -> dict[int, StudentProgress]:
    """{student id: progress} given each student's entry year, in two queries."""
    today = today or timezone.localdate()
    policies = _PolicyBook()
    rows: dict[int, list[dict]] = {student_id: [] for student_id in entry_years}
    if entry_years:
        for row in _ledger_rows({"student_id__in": list(entry_years)}):
            rows[row["student_id"]].append(row)
    return {
        student_id: _build(
            student_id=student_id,
            entry_year=entry_year,
            rows=rows[student_id],
            policy=policies.for_entry_year(entry_year),
            today=today,
        )
        for student_id, entry_year in entry_years.items()
    }


def progress_for_student(*, student: Student, today: date | None = None) -> StudentProgress:
    """One student's progress in two queries (policies, ledger); `student.school_class` loaded."""
    return progress_for_entry_years({student.pk: student.school_class.entry_year}, today=today)[
        student.pk
    ]


def _rows_from_records(records: Iterable[PracticeRecord]) -> list[dict]:
    """The rows `_ledger_rows` would return, grouped in Python from records already loaded."""
    tz = timezone.get_default_timezone()
    groups: dict[tuple, dict] = {}
    for record in records:
        first = timezone.localtime(record.started_at, tz).date()
        key = (record.category_id, record.status, first)
        row = groups.setdefault(
            key,
            {
                "student_id": record.student_id,
                "category_id": record.category_id,
                "category__counts_as_volunteer_service": (
                    record.category.counts_as_volunteer_service
                ),
                "status": record.status,
                "first": first,
                "minutes": 0,
                "records": 0,
                "last_end": record.ended_at,
            },
        )
        row["minutes"] += record.credited_minutes
        row["records"] += 1
        row["last_end"] = max(row["last_end"], record.ended_at)
    return list(groups.values())


def progress_from_records(
    *, student: Student, records: Iterable[PracticeRecord], today: date | None = None
) -> StudentProgress:
    """The same computation over all of one student's records, already loaded with their
    category (a page that lists them anyway): one query, for the policies."""
    entry_year = student.school_class.entry_year
    return _build(
        student_id=student.pk,
        entry_year=entry_year,
        rows=_rows_from_records(records),
        policy=_PolicyBook().for_entry_year(entry_year),
        today=today or timezone.localdate(),
    )


def progress_for_students(
    student_ids: Iterable[int], *, today: date | None = None
) -> dict[int, StudentProgress]:
    """{student id: progress} for many students in three queries, whatever their number."""
    entry_years = dict(
        Student.objects.filter(pk__in=list(student_ids)).values_list(
            "pk", "school_class__entry_year"
        )
    )
    return progress_for_entry_years(entry_years, today=today)


def progress_stream(
    students: QuerySet[Student],
    *,
    fields: Iterable[str] = (),
    today: date | None = None,
    detail: bool = True,
) -> Iterator[tuple[dict, StudentProgress]]:
    """(student values, progress) for every student of a queryset, in bounded memory.

    Three queries whatever the number of students: policies, the students (ordered by id) and
    the ledger rows of those students (ordered by student), both read in chunks and merged.
    `fields` names extra Student values to return, e.g. "school_class__school_id";
    `detail=False` leaves the breakdowns empty (totals, held-apart tallies and forecast only).
    """
    today = today or timezone.localdate()
    policies = _PolicyBook()
    student_rows = (
        students.order_by("pk")
        .values("pk", "school_class__entry_year", *fields)
        .iterator(chunk_size=2000)
    )
    ledger = _ledger_rows({"student__in": students.order_by().values("pk")}).iterator(
        chunk_size=5000
    )
    pending = next(ledger, None)
    for values in student_rows:
        student_id = values["pk"]
        rows = []
        while pending is not None and pending["student_id"] <= student_id:
            if pending["student_id"] == student_id:
                rows.append(pending)
            pending = next(ledger, None)
        entry_year = values["school_class__entry_year"]
        yield (
            values,
            _build(
                student_id=student_id,
                entry_year=entry_year,
                rows=rows,
                policy=policies.for_entry_year(entry_year),
                today=today,
                detail=detail,
            ),
        )


# ------------------------------------------------------------------------------
# Totals only: the completion reports (class, grade, school, district, city)
# ------------------------------------------------------------------------------
@dataclass(frozen=True)
class StudentTotals(_Measures):
    """A student's two measures and forecast, without breakdowns or held-apart tallies.

    The same figures as StudentProgress's `volunteer_minutes`, `practice_days`, `records` and
    forecast (the same rules: `_forecasts`, `_dates_from`), computed mostly in the database.
    """


TOTALS_CHUNK = 2000


def _totals_sql(students: QuerySet[Student], fields: tuple[str, ...]) -> tuple[str, tuple]:
    """One statement: per student, volunteer minutes, records and distinct start dates; and
    the counted records of the few students who have a record spanning several dates.

    Rows `(student id, 0, entry year, *fields, minutes, records, start dates, spans, None,
    None)` for every student of `students`, each followed, when `spans` is 1, by rows
    `(student id, 1, ..., started_at, ended_at)`, one per counted record of that student.

    The database groups the counted records by student and local start date (as
    `_ledger_rows` does, without category and status) and then by student: about one row per
    student reaches Python. A student's practice days are the distinct local dates their
    records touch; when every record stays within the date it starts on, that is the number
    of distinct start dates. Otherwise (学农, 军训, a record past midnight) Python unions the
    dates of each record (`_dates_from`), so the figure stays exact.
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
    keys = "".join(f", s.{name}" for name in names)
    blanks = ", NULL" * len(names)
    sql = f"""
WITH totals AS MATERIALIZED (
  SELECT d.student_id, SUM(d.totals_minutes) AS minutes, SUM(d.totals_records) AS records,
         COUNT(*) AS days, MAX(CASE WHEN d.totals_last > d.totals_first THEN 1 ELSE 0 END) AS spans
  FROM ({by_date_sql}) d
  GROUP BY d.student_id
)
SELECT s.totals_sid, 0, s.totals_year{keys}, t.minutes, t.records, t.days, t.spans, NULL, NULL
FROM ({people_sql}) s LEFT JOIN totals t ON t.student_id = s.totals_sid
UNION ALL
SELECT r.student_id, 1, NULL{blanks}, NULL, NULL, NULL, NULL, r.started_at, r.ended_at
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


def progress_totals_stream(
    students: QuerySet[Student], *, fields: Iterable[str] = (), today: date | None = None
) -> Iterator[tuple[dict, StudentTotals]]:
    """(student values, totals) for every student of a queryset, in student id order.

    What the completion reports need, in two queries whatever the number of students (the
    policies, and `_totals_sql`), about one row per student: the ledger stays in the
    database. The figures and forecasts are those of `progress_stream` (tests hold them
    equal on random ledgers); the breakdowns and the disputed and revoked tallies are not
    computed. `fields` names extra Student values, as for `progress_stream`.
    """
    today = today or timezone.localdate()
    fields = tuple(fields)
    policies = _PolicyBook()
    tz = timezone.get_default_timezone()
    sql, params = _totals_sql(students, fields)
    held: list | None = None  # a student with a multi-date record, waiting for its records
    dates: set[date] = set()

    def totals(row: list | tuple, practice_days: int) -> tuple[dict, StudentTotals]:
        student_id, _part, entry_year, *rest = row
        keys, (minutes, records) = rest[: len(fields)], rest[len(fields) : len(fields) + 2]
        policy = policies.for_entry_year(entry_year)
        volunteer_minutes = int(minutes or 0)
        hours_forecast, days_forecast = _forecasts(
            policy=policy,
            entry_year=entry_year,
            today=today,
            volunteer_minutes=volunteer_minutes,
            practice_days=practice_days,
        )
        values = {"pk": student_id, "school_class__entry_year": entry_year}
        values.update(zip(fields, keys, strict=True))
        return values, StudentTotals(
            student_id=student_id,
            entry_year=entry_year,
            today=today,
            hours_required=policy.volunteer_hours_required,
            days_required=policy.practice_days_required,
            minutes_per_credit_hour=policy.minutes_per_credit_hour,
            volunteer_minutes=volunteer_minutes,
            practice_days=practice_days,
            records=int(records or 0),
            hours_forecast=hours_forecast,
            days_forecast=days_forecast,
        )

    with connection.chunked_cursor() as cursor:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(TOTALS_CHUNK):
            for row in rows:
                if row[1] == 1:  # a record of the held student
                    started_at, ended_at = _as_datetime(row[-2]), _as_datetime(row[-1])
                    dates.update(_dates_from(started_at.astimezone(tz).date(), ended_at, tz))
                    continue
                if held is not None:
                    yield totals(held, len(dates))
                    held = None
                if row[-3] == 1:
                    held, dates = row, set()
                else:
                    yield totals(row, int(row[-4] or 0))
    if held is not None:
        yield totals(held, len(dates))
