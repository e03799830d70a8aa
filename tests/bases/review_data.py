"""A school year of bases' work for the base review tests, and its figures counted plainly.

`build_year` gives each base a different mix (sessions closed on time or late or not at all,
cancelled early or late, attended and no-show seats, disputes answered each way), all in the
previous school year so every session is due. `expected_figures` counts the same figures by
walking the rows in Python, independently of `bases.base_review`.
"""

from datetime import date, datetime, time, timedelta

from django.utils import timezone

from bases.models import Application, ApplicationStatus, Base, Session
from students.models import (
    Dispute,
    DisputeStatus,
    OrganiserLevel,
    PracticeRecord,
    RecordedVia,
    RecordStatus,
    ReliabilityPolicy,
)
from students.policies import reliability_policy_on
from students.progress import school_year_of
from students.selectors import attendance_deadline_hours
from tests.factories import PostFactory, SessionFactory, UserFactory, category


def previous_school_year() -> int:
    return school_year_of(timezone.localdate()) - 1


def _at(year: int, day: int, hour: int = 9) -> datetime:
    """`day` days after 1 October of school year `year`, at `hour` in Shanghai."""
    start = date(year, 10, 1) + timedelta(days=day)
    return timezone.make_aware(datetime.combine(start, time(hour)))


def build_year(bases: list[Base], *, year: int, students: list) -> None:
    """Sessions, applications and disputes for each base; base number n gets n extra of each."""
    raiser = UserFactory()
    for n, base in enumerate(bases):
        post = PostFactory(base=base)
        day = 0
        for k in range(2 + n % 4):
            kind = (n + k) % 5
            day += 2
            starts_at = _at(year, day + 3 * n)
            ends_at = starts_at + timedelta(hours=3)
            closed = {
                0: ends_at + timedelta(hours=2),  # on time
                1: ends_at + timedelta(hours=30),  # late
                2: None,  # never closed
                3: ends_at + timedelta(hours=23),  # on time, just
                4: None,
            }[kind]
            cancelled = None
            if kind == 4:
                cancelled = starts_at - timedelta(hours=10 if k % 2 else 24 * 5)
            session = SessionFactory(
                post=post,
                starts_at=starts_at,
                ends_at=ends_at,
                applications_open_at=starts_at - timedelta(days=20),
                applications_close_at=starts_at - timedelta(days=1),
                attendance_closed_at=closed,
                cancelled_at=cancelled,
            )
            for i, student in enumerate(students[: 2 + (n + k) % 3]):
                if cancelled:
                    status = ApplicationStatus.CANCELLED
                elif closed is None:
                    status = ApplicationStatus.CONFIRMED
                else:
                    status = ApplicationStatus.NO_SHOW if (i + k) % 3 == 0 else "attended"
                Application.objects.create(student=student, session=session, status=status)
        for d, status in enumerate(
            [DisputeStatus.CORRECTED, DisputeStatus.UPHELD, DisputeStatus.REVOKED][: 1 + n % 3]
        ):
            started_at = _at(year, 40 + d + n)
            record = PracticeRecord.objects.create(
                student=students[d],
                source_ref=f"test:review:{base.pk}:{d}",
                category=category(),
                title="图书管理员",
                organiser_name=base.name,
                organiser_level=OrganiserLevel.DISTRICT,
                organiser_ref=f"base:{base.pk}",
                started_at=started_at,
                ended_at=started_at + timedelta(hours=2),
                credited_minutes=120,
                recorded_via=RecordedVia.ROSTER,
                status=RecordStatus.FINAL,
                confirmed_at=started_at + timedelta(days=10),
            )
            Dispute.objects.create(
                record=record,
                raised_by=raiser,
                reason="时间不对",
                status=status,
                answer="已核实",
                answered_at=started_at + timedelta(days=2),
            )


def expected_figures(base: Base, *, year: int) -> dict:
    """The review sheet's row for `base`, counted row by row."""
    start = timezone.make_aware(datetime.combine(date(year, 9, 1), time.min))
    end = timezone.make_aware(datetime.combine(date(year + 1, 9, 1), time.min))
    now = timezone.now()
    deadline = timedelta(hours=attendance_deadline_hours())
    policy: ReliabilityPolicy = reliability_policy_on(timezone.localdate(end) - timedelta(days=1))
    late = timedelta(hours=policy.session_cancel_late_hours)
    due = on_time = cancelled = cancelled_late = settled = no_shows = 0
    for session in Session.objects.filter(post__base=base):
        if not start <= session.starts_at < end:
            continue
        if session.cancelled_at is not None:
            cancelled += 1
            cancelled_late += session.cancelled_at > session.starts_at - late
            continue
        closed = session.attendance_closed_at
        if closed is not None or session.ends_at <= now - deadline:
            due += 1
            on_time += closed is not None and closed <= session.ends_at + deadline
        for application in session.applications.all():
            settled += application.status in ("attended", "no_show")
            no_shows += application.status == "no_show"
    against = sum(
        1
        for dispute in Dispute.objects.filter(record__organiser_ref=f"base:{base.pk}")
        if dispute.status in ("corrected", "revoked") and start <= dispute.answered_at < end
    )
    return {
        "code": base.code,
        "name": base.name,
        "district": base.district.name,
        "due": due,
        "on_time": on_time,
        "on_time_percent": round(100 * on_time / due, 1) if due else None,
        "cancelled": cancelled,
        "cancelled_late": cancelled_late,
        "against": against,
        "settled": settled,
        "no_shows": no_shows,
        "no_show_percent": round(100 * no_shows / settled, 1) if settled else None,
    }
