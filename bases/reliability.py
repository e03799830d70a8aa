"""A student's reliability (信誉): no-shows and late cancellations, decayed, and the hold.

Every figure comes from the reliability policy in force today (`students.policies`):

- a **no-show** is a confirmed application on a session whose attendance was closed without
  the student attending (`ApplicationStatus.NO_SHOW`, set by `session_attendance_close`); it
  happened when the session started;
- a **late cancellation** is the student's own cancellation of a confirmed application less
  than `late_cancel_hours` before the start (`Application.cancelled_at`, `cancelled_from`); a
  session the base called off, or a student the base removed, never counts;
- the **figure** starts at 100 and loses each event's points (`no_show_points`,
  `late_cancel_points`), halved every `half_life_days` since it happened; never below 0;
- the **hold**: once `hold_no_shows` no-shows fall within `hold_window_days`, the student's new
  applications go to the waiting list for `hold_days` from the last of them (a lottery weighs
  them by `held_lottery_factor`). A head teacher's lift (`ReliabilityHoldLift`) stops the
  no-shows of sessions started before it from counting toward a hold; the figure keeps them.

`reliability_for_students` answers for any number of students in three queries;
`last_no_show` lets a caller that reads the student anyway learn, in the same query, whether
a hold is possible at all (`student_hold`).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Max, OuterRef, Q, Subquery
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from students.models import ReliabilityPolicy
from students.policies import reliability_policy_on

from .models import Application, ApplicationStatus, ReliabilityHoldLift, Session

NO_SHOW = "no_show"
LATE_CANCEL = "late_cancel"
# Events older than this many half-lives weigh less than 1/32 of their points: left out.
HALF_LIVES_KEPT = 5
FULL = 100


@dataclass(frozen=True)
class ReliabilityEvent:
    """One reason the figure is lower: a no-show or a late cancellation, and its points now."""

    kind: str
    session: Session
    happened_at: datetime
    points: float

    @property
    def label(self) -> str:
        return _("No-show") if self.kind == NO_SHOW else _("Late cancellation")


@dataclass(frozen=True)
class Hold:
    """New applications go to the waiting list from `since` until `until`."""

    since: datetime
    until: datetime
    no_shows: int
    window_days: int

    @property
    def reason(self) -> str:
        return _(
            "Until %(until)s your new applications go to the waiting list: %(count)s no-shows "
            "within %(days)s days. Your head teacher can lift this."
        ) % {
            "until": date_format(timezone.localtime(self.until), "Y-m-d H:i"),
            "count": self.no_shows,
            "days": self.window_days,
        }


@dataclass(frozen=True)
class StudentReliability:
    student_id: int
    score: int
    events: list[ReliabilityEvent]
    hold: Hold | None
    policy: ReliabilityPolicy

    @property
    def held(self) -> bool:
        return self.hold is not None


def decayed_points(*, points: int, happened_at: datetime, now: datetime, half_life_days: int):
    """`points` halved for every `half_life_days` since `happened_at`."""
    age_days = max(0.0, (now - happened_at).total_seconds() / 86400)
    return points * 0.5 ** (age_days / half_life_days)


def hold_from(
    *, no_show_times: list[datetime], policy: ReliabilityPolicy, now: datetime
) -> Hold | None:
    """The hold in force at `now` from the counted no-shows' times, or None.

    A hold starts at a no-show that makes `hold_no_shows` within `hold_window_days` (it and the
    ones before it) and lasts `hold_days`; the latest such no-show decides.
    """
    times = sorted(no_show_times)
    window = timedelta(days=policy.hold_window_days)
    for index in range(len(times) - 1, -1, -1):
        last = times[index]
        until = last + timedelta(days=policy.hold_days)
        if until <= now:
            return None  # every earlier hold ended sooner
        count = sum(1 for t in times[: index + 1] if t > last - window)
        if count >= policy.hold_no_shows:
            return Hold(
                since=last, until=until, no_shows=count, window_days=policy.hold_window_days
            )
    return None


def _is_late_cancel(application: Application, policy: ReliabilityPolicy) -> bool:
    window = timedelta(hours=policy.late_cancel_hours)
    return (
        application.status == ApplicationStatus.CANCELLED
        and application.cancelled_from == ApplicationStatus.CONFIRMED
        and application.cancelled_at is not None
        and application.cancelled_at > application.session.starts_at - window
    )


def reliability_for_students(
    student_ids, *, now: datetime | None = None, policy: ReliabilityPolicy | None = None
) -> dict[int, StudentReliability]:
    """{student id: reliability} for many students: three queries (policy, events, lifts); two
    when the caller passes the policy in force today (`reliability_policy_on`), read already."""
    now = now or timezone.now()
    student_ids = list(student_ids)
    policy = policy or reliability_policy_on(timezone.localdate(now))
    kept_days = max(policy.half_life_days * HALF_LIVES_KEPT, policy.hold_window_days)
    since = now - timedelta(days=kept_days + policy.hold_days)
    applications = (
        Application.objects.filter(student_id__in=student_ids, session__starts_at__gte=since)
        .filter(
            Q(status=ApplicationStatus.NO_SHOW)
            | Q(
                status=ApplicationStatus.CANCELLED,
                cancelled_from=ApplicationStatus.CONFIRMED,
                cancelled_at__isnull=False,
            )
        )
        .select_related("session__post__base")
        .order_by("student_id", "session__starts_at", "id")
    )
    lifts = dict(
        ReliabilityHoldLift.objects.filter(student_id__in=student_ids)
        .values("student_id")
        .annotate(last=Max("lifted_at"))
        .values_list("student_id", "last")
    )
    events: dict[int, list[ReliabilityEvent]] = {student_id: [] for student_id in student_ids}
    no_shows: dict[int, list[datetime]] = {student_id: [] for student_id in student_ids}
    for application in applications:
        session = application.session
        if application.status == ApplicationStatus.NO_SHOW:
            kind, happened_at, points = NO_SHOW, session.starts_at, policy.no_show_points
            lifted = lifts.get(application.student_id)
            if lifted is None or session.starts_at > lifted:
                no_shows[application.student_id].append(session.starts_at)
        elif _is_late_cancel(application, policy):
            kind, happened_at = LATE_CANCEL, application.cancelled_at
            points = policy.late_cancel_points
        else:
            continue
        weight = decayed_points(
            points=points, happened_at=happened_at, now=now, half_life_days=policy.half_life_days
        )
        events[application.student_id].append(
            ReliabilityEvent(kind=kind, session=session, happened_at=happened_at, points=weight)
        )
    return {
        student_id: StudentReliability(
            student_id=student_id,
            score=max(0, round(FULL - sum(e.points for e in events[student_id]))),
            events=sorted(events[student_id], key=lambda e: e.happened_at, reverse=True),
            hold=hold_from(no_show_times=no_shows[student_id], policy=policy, now=now),
            policy=policy,
        )
        for student_id in student_ids
    }


def student_reliability(*, student_id: int, now: datetime | None = None) -> StudentReliability:
    """One student's reliability: three queries."""
    return reliability_for_students([student_id], now=now)[student_id]


def last_no_show():
    """An annotation for a `Student` queryset: when the session the student last missed started
    (None if they never missed one). Only no-shows hold a student back, and a hold ends
    `hold_days` after the no-show that set it, so a student whose last no-show is older than
    that has no hold, whatever was lifted: their reliability need not be read to decide where
    an application goes."""
    return Subquery(
        Application.objects.filter(student=OuterRef("pk"), status=ApplicationStatus.NO_SHOW)
        .order_by("-session__starts_at")
        .values("session__starts_at")[:1]
    )


def student_hold(*, student, now: datetime) -> Hold | None:
    """The hold on a student read with `last_no_show` annotated as `last_no_show_at`: no query
    for one who never missed a session, one (the policy) for one whose last no-show is too old
    to hold them, else their reliability (two more: the policy is read once)."""
    if student.last_no_show_at is None:
        return None
    policy = reliability_policy_on(timezone.localdate(now))
    if student.last_no_show_at + timedelta(days=policy.hold_days) <= now:
        return None
    return reliability_for_students([student.pk], now=now, policy=policy)[student.pk].hold
