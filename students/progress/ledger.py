"""Progress read from the ledger, with every breakdown: one student, many, or a stream.

The ledger is read with one aggregate query, grouped by student, category, status and the local
date a record starts on (summing minutes and keeping the latest end): records that start on the
same date span, together, that date up to the latest of their last dates. Records a page has
already loaded are grouped the same way in Python; both go through `ledger_rows`, the one place
that makes the rows `_build` reads.
"""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.db.models import Count, Max, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from ..models import PracticeRecord, RecordStatus, RequirementPolicy, Student, dates_spanned
from ..policies import PolicyBook
from .figures import StudentProgress, TallyBuilder
from .rules import forecasts, school_year_for

#: What identifies a ledger row: the records of one student, category, status and start date.
ROW_KEY = ("student_id", "category_id", "category__counts_as_volunteer_service", "status", "first")


@dataclass
class LedgerRow:
    """The records of one student, category and status that start on one local date."""

    student_id: int
    category_id: int
    volunteer: bool
    status: str
    first: date
    minutes: int
    records: int
    last_end: datetime


def ledger_rows(entries: Iterable[tuple]) -> list[LedgerRow]:
    """Rows from entries `(*ROW_KEY values, minutes, records, last end)`, in first-seen order:
    entries with the same key are summed, keeping the latest end (a no-op on rows the database
    has grouped already; the grouping itself for records loaded one by one)."""
    rows: dict[tuple, LedgerRow] = {}
    for *key, minutes, records, last_end in entries:
        key = tuple(key)
        row = rows.get(key)
        if row is None:
            rows[key] = LedgerRow(*key, minutes=minutes, records=records, last_end=last_end)
        else:
            row.minutes += minutes
            row.records += records
            row.last_end = max(row.last_end, last_end)
    return list(rows.values())


def _ledger_query(student_filter: dict[str, Any]) -> QuerySet:
    """The one aggregate query: per student, category, status and local start date, as
    `ledger_rows` entries, ordered by student."""
    return (
        PracticeRecord.objects.filter(**student_filter)
        .annotate(first=TruncDate("started_at", tzinfo=timezone.get_default_timezone()))
        .values(*ROW_KEY)
        .annotate(minutes=Sum("credited_minutes"), records=Count("id"), last_end=Max("ended_at"))
        .order_by("student_id")
        .values_list(*ROW_KEY, "minutes", "records", "last_end", named=True)
    )


def _record_entries(records: Iterable[PracticeRecord]) -> Iterator[tuple]:
    """One `ledger_rows` entry per record already loaded with its category."""
    tz = timezone.get_default_timezone()
    for record in records:
        yield (
            record.student_id,
            record.category_id,
            record.category.counts_as_volunteer_service,
            record.status,
            timezone.localtime(record.started_at, tz).date(),
            record.credited_minutes,
            1,
            record.ended_at,
        )


def _build(
    *,
    student_id: int,
    entry_year: int,
    rows: list[LedgerRow],
    policy: RequirementPolicy,
    today: date,
    detail: bool = True,
) -> StudentProgress:
    """One student's progress from their ledger rows; `detail=False` skips the breakdowns
    (by category, school year and month) for reports that only count students."""
    total, disputed, revoked = TallyBuilder(), TallyBuilder(), TallyBuilder()
    categories: dict[int, TallyBuilder] = {}
    years: dict[int, TallyBuilder] = {}
    months: dict[tuple[int, int], TallyBuilder] = {}
    for row in rows:
        dates = dates_spanned(row.first, row.last_end)
        figures = {"records": row.records, "minutes": row.minutes, "volunteer": row.volunteer}
        if row.status == RecordStatus.DISPUTED:
            disputed.add(**figures, dates=dates)
            continue
        if row.status == RecordStatus.REVOKED:
            revoked.add(**figures, dates=dates)
            continue
        total.add(**figures, dates=dates)
        if not detail:
            continue
        categories.setdefault(row.category_id, TallyBuilder()).add(**figures, dates=dates)
        first = row.first
        years.setdefault(school_year_for(first, entry_year), TallyBuilder()).add(
            **figures, dates=()
        )
        months.setdefault((first.year, first.month), TallyBuilder()).add(**figures, dates=())
        for day in dates:
            years.setdefault(school_year_for(day, entry_year), TallyBuilder()).dates.add(day)
            months.setdefault((day.year, day.month), TallyBuilder()).dates.add(day)
    hours_forecast, days_forecast = forecasts(
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


def progress_for_entry_years(
    entry_years: dict[int, int], *, today: date | None = None
) -> dict[int, StudentProgress]:
    """{student id: progress} given each student's entry year, in two queries."""
    today = today or timezone.localdate()
    policies = PolicyBook()
    rows: dict[int, list[LedgerRow]] = {student_id: [] for student_id in entry_years}
    if entry_years:
        for row in ledger_rows(_ledger_query({"student_id__in": list(entry_years)})):
            rows[row.student_id].append(row)
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


def progress_from_records(
    *, student: Student, records: Iterable[PracticeRecord], today: date | None = None
) -> StudentProgress:
    """The same computation over all of one student's records, already loaded with their
    category (a page that lists them anyway): one query, for the policies."""
    entry_year = student.school_class.entry_year
    return _build(
        student_id=student.pk,
        entry_year=entry_year,
        rows=ledger_rows(_record_entries(records)),
        policy=PolicyBook().for_entry_year(entry_year),
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
    policies = PolicyBook()
    student_rows = (
        students.order_by("pk")
        .values("pk", "school_class__entry_year", *fields)
        .iterator(chunk_size=2000)
    )
    ledger = _ledger_query({"student__in": students.order_by().values("pk")}).iterator(
        chunk_size=5000
    )
    pending = next(ledger, None)
    for values in student_rows:
        student_id = values["pk"]
        entries = []
        while pending is not None and pending.student_id <= student_id:
            if pending.student_id == student_id:
                entries.append(pending)
            pending = next(ledger, None)
        entry_year = values["school_class__entry_year"]
        yield (
            values,
            _build(
                student_id=student_id,
                entry_year=entry_year,
                rows=ledger_rows(entries),
                policy=policies.for_entry_year(entry_year),
                today=today,
                detail=detail,
            ),
        )
