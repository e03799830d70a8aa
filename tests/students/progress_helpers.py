"""Build a student's ledger directly (tests of reading it need no attendance behind it)."""

import itertools
from datetime import date, datetime, time, timedelta

from django.utils import timezone

from students.models import OrganiserLevel, PracticeRecord, RecordedVia, RecordStatus
from tests.factories import category

_refs = itertools.count(1)


def add_record(
    student,
    *,
    day: date,
    minutes: int = 180,
    category_code: str = "volunteer_service",
    status: str = RecordStatus.FINAL,
    days: int = 1,
    title: str = "图书管理员",
) -> PracticeRecord:
    """A record from 09:00 on `day`, crediting `minutes`; `days` > 1 runs to 17:00 of the last."""
    start = timezone.make_aware(datetime.combine(day, time(9, 0)))
    if days > 1:
        end = timezone.make_aware(datetime.combine(day + timedelta(days=days - 1), time(17, 0)))
    else:
        end = start + timedelta(minutes=max(minutes, 1))
    return PracticeRecord.objects.create(
        student=student,
        source_ref=f"test-ledger:{next(_refs)}",
        category=category(category_code),
        title=title,
        organiser_name="徐汇区图书馆",
        organiser_level=OrganiserLevel.DISTRICT,
        started_at=start,
        ended_at=end,
        credited_minutes=minutes,
        recorded_via=RecordedVia.IMPORT,
        status=status,
        notice_ends_on=day + timedelta(days=7) if status == RecordStatus.IN_NOTICE else None,
        confirmed_at=timezone.now() if status == RecordStatus.FINAL else None,
    )


def add_volunteer_days(student, *, first: date, count: int, minutes: int = 180) -> None:
    """`count` final volunteer records on consecutive days from `first`, in one insert."""
    PracticeRecord.objects.bulk_create(
        [
            PracticeRecord(
                student=student,
                source_ref=f"test-ledger:{next(_refs)}",
                category=category("volunteer_service"),
                title="志愿服务",
                organiser_name="徐汇区图书馆",
                organiser_level=OrganiserLevel.DISTRICT,
                started_at=timezone.make_aware(datetime.combine(first + timedelta(n), time(9))),
                ended_at=timezone.make_aware(datetime.combine(first + timedelta(n), time(9)))
                + timedelta(minutes=minutes),
                credited_minutes=minutes,
                recorded_via=RecordedVia.IMPORT,
                status=RecordStatus.FINAL,
                confirmed_at=timezone.now(),
            )
            for n in range(count)
        ]
    )


STATES = ("done", "on_track", "at_risk", "behind")


def days_for(state: str, *, entry_year: int, today: date) -> int | None:
    """The fewest practice days (with the hours met) that give `state` today, if any."""
    from students.progress import measure_forecast

    for n in range(91):
        if measure_forecast(done=n, required=90, entry_year=entry_year, today=today) == state:
            return n
    return None


def entry_year_with_every_state(today: date) -> int:
    """An entry year, among the classes in school today, for which all four states can occur."""
    from students.progress import school_year_of

    for entry_year in range(school_year_of(today) - 2, school_year_of(today) + 1):
        if all(days_for(s, entry_year=entry_year, today=today) is not None for s in STATES):
            return entry_year
    raise AssertionError("no entry year shows every state today")


def give_state(student, state: str, *, today: date) -> tuple[int, int]:
    """Give a student a ledger whose forecast today is `state`; returns (minutes, days)."""
    entry_year = student.school_class.entry_year
    days = days_for(state, entry_year=entry_year, today=today)
    if state == "behind":
        days = 0
    if days == 0:
        return 0, 0
    minutes = 30 if state == "done" else 2400 // days + 1
    add_volunteer_days(student, first=date(entry_year, 9, 1), count=days, minutes=minutes)
    return minutes * days, days
