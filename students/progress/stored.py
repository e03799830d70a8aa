"""The per-student totals table (`StudentTotal`): kept, rebuilt, reconciled, and read by the
completion reports.

Each student's volunteer minutes, practice days and records (counted records only) are what
`totals.ledger_totals` computes from the ledger, stored. Every write of a record refreshes its
students' rows in the same transaction (`PracticeRecord` and its queryset call
`totals_refresh`), so the city's figures read 220,000 rows, not 10 million records. Only
figures that depend neither on the date nor on the policy are stored; the forecasts are
worked out in SQL when read, from the thresholds of `rules.measure_thresholds`.

`totals_differences` compares the table with the ledger (`manage.py totals_reconcile`, and
the nightly `students.tasks.student_totals_reconcile`); there must be none.
"""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date

from django.db import connection, transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from ..models import SchoolClass, Student, StudentTotal
from ..policies import PolicyBook
from .rules import FORECAST_RANK, Forecast, combined_forecast, measure_thresholds
from .totals import ledger_totals

#: Students refreshed, rebuilt or compared per statement.
REFRESH_CHUNK = 2000
STORED_FIELDS = ("volunteer_minutes", "practice_days", "records")
_BY_RANK = {rank: state for state, rank in FORECAST_RANK.items()}


def _chunks(ids: list[int]) -> Iterator[list[int]]:
    for start in range(0, len(ids), REFRESH_CHUNK):
        yield ids[start : start + REFRESH_CHUNK]


def _from_ledger(students: QuerySet[Student]) -> Iterator[StudentTotal]:
    """What the table should hold for these students, from the ledger, in student id order."""
    for row, practice_days in ledger_totals(students):
        yield StudentTotal(
            student_id=row.student_id,
            volunteer_minutes=int(row.minutes or 0),
            practice_days=practice_days,
            records=int(row.records or 0),
        )


def _write(rows: list[StudentTotal]) -> None:
    StudentTotal.objects.bulk_create(
        rows, update_conflicts=True, unique_fields=["student"], update_fields=STORED_FIELDS
    )


def totals_refresh(student_ids: Iterable[int]) -> None:
    """Recompute these students' rows from their records, in the caller's transaction.

    The students' rows are locked first (FOR NO KEY UPDATE on PostgreSQL: record inserts,
    which only take a key-share lock on their student, go on), so two transactions writing
    records of one student refresh in turn and the second sees the first's records."""
    ids = sorted({int(pk) for pk in student_ids if pk is not None})
    if not ids:
        return
    with transaction.atomic():
        for chunk in _chunks(ids):
            students = Student.objects.filter(pk__in=chunk)
            list(students.order_by("pk").select_for_update(no_key=True).values_list("pk"))
            _write(list(_from_ledger(students)))


def totals_rebuild() -> int:
    """Every student's row from the ledger, in one transaction (a database loaded in bulk,
    a first deployment); returns the number of students."""
    count = 0
    with transaction.atomic():
        batch: list[StudentTotal] = []
        for total in _from_ledger(Student.objects.all()):
            batch.append(total)
            if len(batch) == REFRESH_CHUNK:
                _write(batch)
                count += len(batch)
                batch = []
        _write(batch)
        count += len(batch)
    return count


@dataclass(frozen=True)
class TotalsDifference:
    """A student whose stored totals differ from their ledger's (figures in STORED_FIELDS
    order; a student without a row has zeros stored)."""

    student_id: int
    stored: tuple[int, int, int]
    ledger: tuple[int, int, int]


def _figures(total: StudentTotal | None) -> tuple[int, int, int]:
    return (0, 0, 0) if total is None else tuple(getattr(total, f) for f in STORED_FIELDS)


def _compare(students: QuerySet[Student]) -> list[TotalsDifference]:
    """The students of `students` whose row differs from the ledger: two streams in student
    id order, merged."""
    stored = (
        StudentTotal.objects.filter(student__in=students.order_by().values("pk"))
        .order_by("student_id")
        .iterator(chunk_size=REFRESH_CHUNK)
    )
    pending = next(stored, None)
    differences = []
    for expected in _from_ledger(students):
        while pending is not None and pending.student_id < expected.student_id:
            pending = next(stored, None)  # no such student: impossible (the row cascades)
        row = pending if pending is not None and pending.student_id == expected.student_id else None
        if _figures(row) != _figures(expected):
            differences.append(
                TotalsDifference(expected.student_id, _figures(row), _figures(expected))
            )
    return differences


def totals_differences(*, fix: bool = False) -> list[TotalsDifference]:
    """Every student whose stored totals differ from the ledger (the full aggregate).

    A student written to while the two streams were read may show up: the students found
    are compared again, alone, and only those still different are returned. With `fix`,
    their rows are refreshed (`totals_refresh`), in the same transaction as that check."""
    found = _compare(Student.objects.all())
    if not found:
        return []
    ids = [difference.student_id for difference in found]
    with transaction.atomic():
        confirmed = []
        for chunk in _chunks(ids):
            confirmed += _compare(Student.objects.filter(pk__in=chunk))
        if fix:
            totals_refresh(difference.student_id for difference in confirmed)
    return confirmed


# ------------------------------------------------------------------------------
# What the completion reports read
# ------------------------------------------------------------------------------
@dataclass(frozen=True)
class GroupFigures:
    """The students of one group and entry year with the same two forecasts, and their sums."""

    key: object
    entry_year: int
    hours_forecast: str
    days_forecast: str
    students: int
    volunteer_minutes: int
    practice_days: int
    last_student_id: int
    minutes_per_credit_hour: int

    @property
    def forecast(self) -> str:
        return combined_forecast(self.hours_forecast, self.days_forecast)

    @property
    def hours_done(self) -> bool:
        return self.hours_forecast == Forecast.DONE

    @property
    def days_done(self) -> bool:
        return self.days_forecast == Forecast.DONE


def _rank_sql(done: str, required: str, on_track: str, at_risk: str) -> str:
    """`measure_forecast`'s rank (FORECAST_RANK) from the thresholds of `measure_thresholds`."""
    ranks = {state: FORECAST_RANK[state] for state in Forecast}
    return (
        f"CASE WHEN {done} >= th.{required} THEN {ranks[Forecast.DONE]} "
        f"WHEN th.passed = 1 THEN {ranks[Forecast.BEHIND]} "
        f"WHEN {done} >= th.{on_track} THEN {ranks[Forecast.ON_TRACK]} "
        f"WHEN {done} >= th.{at_risk} THEN {ranks[Forecast.AT_RISK]} "
        f"ELSE {ranks[Forecast.BEHIND]} END"
    )


def completion_figures(
    students: QuerySet[Student], *, key_field: str, today: date | None = None
) -> list[GroupFigures]:
    """The stored totals of `students`, grouped by `key_field` (a Student value such as
    "school_class__school_id"), entry year and the two forecasts on `today`: three queries
    (entry years, policies, the grouped totals), a few rows per group whatever the number of
    students. The figures are those `progress_totals_stream` gives student by student."""
    today = today or timezone.localdate()
    policies = PolicyBook()
    years = sorted(set(SchoolClass.objects.values_list("entry_year", flat=True).distinct()))
    # No class, no student: a row no student matches keeps the statement valid (and the
    # number of queries the same).
    thresholds = [] if years else ["(-1, 0, 0, 0, 0, 0, 0, 0)"]
    for year in years:
        policy = policies.for_entry_year(year)
        minutes = policy.volunteer_hours_required * policy.minutes_per_credit_hour
        passed, minutes_on, minutes_risk = measure_thresholds(minutes, year, today)
        days = policy.practice_days_required
        _, days_on, days_risk = measure_thresholds(days, year, today)
        values = (year, minutes, minutes_on, minutes_risk, days, days_on, days_risk, int(passed))
        thresholds.append("(" + ", ".join(str(int(v)) for v in values) + ")")
    people = (
        students.order_by()
        .annotate(g_sid=F("pk"), g_year=F("school_class__entry_year"), g_key=F(key_field))
        .values_list("g_sid", "g_year", "g_key")
    )
    people_sql, params = people.query.sql_with_params()
    table = connection.ops.quote_name(StudentTotal._meta.db_table)
    sql = f"""
WITH th(entry_year, min_req, min_on, min_risk, day_req, day_on, day_risk, passed) AS (
  VALUES {", ".join(thresholds)}
)
SELECT s.g_key, s.g_year,
       {_rank_sql("s.m", "min_req", "min_on", "min_risk")} AS hr,
       {_rank_sql("s.d", "day_req", "day_on", "day_risk")} AS dr,
       COUNT(*), SUM(s.m), SUM(s.d), MAX(s.g_sid)
FROM (
  SELECT p.g_sid, p.g_year, p.g_key, COALESCE(t.volunteer_minutes, 0) AS m,
         COALESCE(t.practice_days, 0) AS d
  FROM ({people_sql}) p LEFT JOIN {table} t ON t.student_id = p.g_sid
) s JOIN th ON th.entry_year = s.g_year
GROUP BY 1, 2, 3, 4"""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return [
        GroupFigures(
            key=key,
            entry_year=year,
            hours_forecast=_BY_RANK[hours],
            days_forecast=_BY_RANK[days],
            students=int(count),
            volunteer_minutes=int(minutes or 0),
            practice_days=int(practice_days or 0),
            last_student_id=int(last),
            minutes_per_credit_hour=policies.for_entry_year(year).minutes_per_credit_hour,
        )
        for key, year, hours, days, count, minutes, practice_days, last in rows
    ]
