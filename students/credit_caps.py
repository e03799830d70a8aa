"""How much of a record's claimed time is credited, and how much is held for review.

The safety policy (`SafetyPolicy`, in force on each day) caps a student's credited minutes in
one day, from every source together, and one record's credited minutes on each day it spans.
`practice_record_upsert` and `practice_record_correct` ask `credit_split` for every record, so
the caps hold whatever wrote it: a base's roster or import, the base API, self check-in, a
school's entry, a transfer.

A record's claimed minutes are spread over the local dates it spans, as evenly as its time on
each date allows (a record inside one date has all of them on that date). On each date the credit
is the smallest of: its share, the per-record cap, and what the daily cap leaves after the
student's other live records credited on that date (spread the same way). The rest is held.
"""

from datetime import date, datetime, timedelta

from django.utils import timezone

from .models import PracticeRecord, RecordStatus, Student, dates_spanned
from .policies import SafetyPolicyBook


def _day_bounds(day: date) -> tuple[datetime, datetime]:
    tz = timezone.get_default_timezone()
    start = timezone.make_aware(datetime.combine(day, datetime.min.time()), tz)
    return start, timezone.make_aware(
        datetime.combine(day + timedelta(days=1), datetime.min.time()), tz
    )


def minutes_by_date(*, started_at: datetime, ended_at: datetime, minutes: int) -> dict[date, int]:
    """`minutes` spread over the local dates [start, end) touches: as evenly as the time on
    each date allows (学农 credits about the same hours each day, its first and last days
    shorter or not); the shares add up to `minutes` exactly."""
    days = dates_spanned(started_at, ended_at)
    if len(days) == 1:
        return {days[0]: minutes}
    room = {}
    for day in days:
        start, end = _day_bounds(day)
        room[day] = int((min(end, ended_at) - max(start, started_at)).total_seconds() // 60)
    shares, remaining = {}, minutes
    by_room = sorted(days, key=lambda day: (room[day], day))
    for index, day in enumerate(by_room):
        shares[day] = min(room[day], remaining // (len(by_room) - index))
        remaining -= shares[day]
    shares[by_room[-1]] += remaining  # whole minutes lost to rounding the time on each date
    return shares


def credited_by_date(
    *, student: Student, days: list[date], exclude_pk: int | None = None
) -> dict[date, int]:
    """The student's credited minutes on each of `days`, from their live records (not revoked)."""
    first, _ = _day_bounds(days[0])
    _, last = _day_bounds(days[-1])
    others = (
        PracticeRecord.objects.filter(student=student, started_at__lt=last, ended_at__gt=first)
        .exclude(status=RecordStatus.REVOKED)
        .exclude(pk=exclude_pk)
        .values_list("started_at", "ended_at", "credited_minutes")
    )
    totals = dict.fromkeys(days, 0)
    for started_at, ended_at, minutes in others:
        spread = minutes_by_date(started_at=started_at, ended_at=ended_at, minutes=minutes)
        for day, share in spread.items():
            if day in totals:
                totals[day] += share
    return totals


def credit_split(
    *,
    student: Student,
    started_at: datetime,
    ended_at: datetime,
    minutes: int,
    exclude_pk: int | None = None,
) -> tuple[int, int]:
    """(credited, held) of `minutes` claimed by a record of `student` over [start, end)."""
    shares = minutes_by_date(started_at=started_at, ended_at=ended_at, minutes=minutes)
    already = credited_by_date(student=student, days=sorted(shares), exclude_pk=exclude_pk)
    credited = _credited(shares, already, SafetyPolicyBook())
    return credited, minutes - credited


def _credited(shares: dict[date, int], already: dict[date, int], book: SafetyPolicyBook) -> int:
    """The caps on each date: the share, the per-record cap, what the daily cap leaves."""
    credited = 0
    for day in sorted(shares):
        policy = book.on(day)
        room = max(0, policy.daily_credit_minutes - already.get(day, 0))
        credited += min(shares[day], policy.session_credit_minutes, room)
    return credited


def window_of(started_at: datetime, ended_at: datetime) -> tuple[datetime, datetime]:
    """The whole local dates [start, end) touches: the records a credit split reads."""
    days = dates_spanned(started_at, ended_at)
    return _day_bounds(days[0])[0], _day_bounds(days[-1])[1]


class CreditTally:
    """`credit_split` for many new records at once (a batch import): the students' live records
    are given once (`add`), then each new record is split in turn (`split`) and counted, so a
    later record of the batch sees the credit of the earlier ones, as one write after another
    would."""

    def __init__(self) -> None:
        self.book = SafetyPolicyBook()
        self.by_student: dict[int, dict[date, int]] = {}

    def add(self, student_id: int, started_at: datetime, ended_at: datetime, credited: int):
        totals = self.by_student.setdefault(student_id, {})
        spread = minutes_by_date(started_at=started_at, ended_at=ended_at, minutes=credited)
        for day, share in spread.items():
            totals[day] = totals.get(day, 0) + share

    def split(
        self, student_id: int, started_at: datetime, ended_at: datetime, minutes: int
    ) -> tuple[int, int]:
        """(credited, held) of a new record, which is then counted for the next."""
        shares = minutes_by_date(started_at=started_at, ended_at=ended_at, minutes=minutes)
        credited = _credited(shares, self.by_student.get(student_id, {}), self.book)
        self.add(student_id, started_at, ended_at, credited)
        return credited, minutes - credited
