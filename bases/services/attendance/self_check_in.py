"""Self check-in (时长码): a student checks in, and later out, with the rotating code of the
session's check-in screen (`bases.checkin_codes`).

Each one is a scan with its own nonce through the same path as every other scan (`scans`), its
source "self", so the roster shows it, the policy's repeat interval and minimum stay apply, and
the coordinator corrects it with a reason like any other. A walk-in (a student who did not
apply, on a post that allows it) gets an attendance awaiting the coordinator's confirmation.
"""

import uuid
from datetime import datetime

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from portal.services import audit_log_record
from students.models import RecordedVia, Student

from ... import attendance_rules as rules
from ...checkin_codes import code_for, code_step, normalise, step_of
from ...errors import BaseError
from ...models import Attendance, AttendanceScan, Coordinator, Post, Session
from .common import attendance_build, lock_session
from .scans import AUTO_KIND, Scan, _Known, _known, _record_scan

# Wrong or expired codes a student may send before waiting: guessing a code is hopeless anyway
# (26^6 values, each valid for a minute), this keeps it so.
WRONG_CODES_ALLOWED = 10
WRONG_CODES_WINDOW_SECONDS = 600

# The reason a self-checked-in walk-in carries until the coordinator confirms (translated when
# shown on the roster).
SELF_WALK_IN_REASON = gettext_noop("Checked in by themselves without applying")


def self_error(problem: rules.Problem, **params) -> BaseError:
    """A refused self check-in, worded for the student's own phone."""
    return BaseError(_(rules.SELF_MESSAGES[problem]), code=problem.value, params=params or None)


def _check_open(*, session: Session, now: datetime) -> None:
    problem = rules.self_check_in_open(session=session, now=now)
    if problem == rules.Problem.OUTSIDE_CHECK_IN_WINDOW:
        raise self_error(problem, **rules.window_params(session))
    if problem:
        raise self_error(problem)


def _wrong_codes_key(user_id: int) -> str:
    return f"self-check-in:wrong-codes:{user_id}"


def self_check_in_throttled(*, user_id: int) -> bool:
    """True once the student sent too many wrong codes lately."""
    return (cache.get(_wrong_codes_key(user_id)) or 0) >= WRONG_CODES_ALLOWED


def self_check_in_wrong_code(*, user_id: int) -> None:
    key = _wrong_codes_key(user_id)
    cache.add(key, 0, WRONG_CODES_WINDOW_SECONDS)
    try:
        cache.incr(key)
    except ValueError:  # expired in between
        cache.set(key, 1, WRONG_CODES_WINDOW_SECONDS)


def self_check_in_sessions(*, now: datetime):
    """Sessions whose check-in screen shows a code at `now`."""
    return Session.objects.filter(
        post__self_check_in=True,
        attendance_closed_at__isnull=True,
        cancelled_at__isnull=True,
        starts_at__lte=now + rules.SELF_CHECK_IN_EARLY,
        ends_at__gte=now - rules.SELF_CHECK_IN_LATE,
    ).select_related("post__base")


def self_check_in_session_for_code(*, code: str, now: datetime | None = None) -> Session:
    """The session whose screen shows (or showed a step ago) this typed code."""
    now = now or timezone.now()
    code = normalise(code)
    for session in self_check_in_sessions(now=now):
        if code_step(session_id=session.pk, code=code, now=now) is not None:
            return session
    raise self_error(rules.Problem.CODE_EXPIRED)


def self_check_in_code(*, session: Session, now: datetime | None = None) -> str | None:
    """The code the check-in screen shows now, or None while self check-in is not open."""
    now = now or timezone.now()
    if rules.self_check_in_open(session=session, now=now):
        return None
    return code_for(session_id=session.pk, step=step_of(now))


def _walk_in(*, known: _Known, session: Session, student: Student) -> None:
    """A student not on the roster: an attendance awaiting confirmation, if the post allows."""
    if not session.post.allows_walk_ins:
        raise self_error(rules.Problem.NOT_CONFIRMED)
    attendance = attendance_build(
        session=session,
        student=student,
        application=None,
        recorded_by=student.user,
        recorded_via=RecordedVia.SELF,
        walk_in_reason=SELF_WALK_IN_REASON,
    )
    attendance.awaiting_confirmation = True
    attendance.save()
    known.attendances[student.pk] = attendance
    audit_log_record(
        actor=student.user,
        action="attendance.self_walk_in",
        target=attendance,
        data={"student_number": student.student_number},
    )


@transaction.atomic
def attendance_self_check_in(
    *, session: Session, student: Student, code: str, now: datetime | None = None
) -> AttendanceScan:
    """Check the student in (or out, if already in) with the code shown on the screen.

    Refused with a message for the student: self check-in off for the post, outside the
    check-in window, a code older than the previous step, not confirmed (unless the post
    allows walk-ins), a scan within the repeat interval, or a check-out too soon after the
    check-in (the coordinator checks them out instead).
    """
    now = now or timezone.now()
    session = lock_session(session)
    _check_open(session=session, now=now)
    if code_step(session_id=session.pk, code=code, now=now) is None:
        raise self_error(rules.Problem.CODE_EXPIRED)
    scan = Scan(
        nonce=f"self-{uuid.uuid4().hex}",
        student=student,
        kind=AUTO_KIND,
        happened_at=now,
        short_stay_confirmed=False,
    )
    known = _known(session=session, scans=[scan])
    if student.pk not in known.attendances and student.pk not in known.applications:
        _walk_in(known=known, session=session, student=student)
    try:
        recorded, _created = _record_scan(
            known=known, scan=scan, source=RecordedVia.SELF, user=student.user
        )
    except BaseError as error:
        problem = next((p for p in rules.SELF_MESSAGES if p.value == error.code), None)
        if problem is None:
            raise
        raise self_error(problem, **(error.params or {})) from None
    return recorded


def self_check_in_counts(*, session: Session) -> dict[str, int]:
    """What the check-in screen may show: how many are in and how many have left, no names."""
    attendances = Attendance.objects.filter(session=session, checked_in_at__isnull=False)
    return {
        "in": attendances.filter(checked_out_at__isnull=True).count(),
        "out": attendances.filter(checked_out_at__isnull=False).count(),
    }


@transaction.atomic
def post_self_check_in_set(
    *, post: Post, self_check_in: bool, allows_walk_ins: bool, changed_by
) -> Post:
    """Switch self check-in, and walk-ins by self check-in, on or off for a post."""
    if not Coordinator.objects.filter(user=changed_by, base_id=post.base_id).exists():
        raise BaseError(_("Only the base's coordinators may change this."), code="not_authorised")
    post.self_check_in = self_check_in
    post.allows_walk_ins = allows_walk_ins and self_check_in
    post.save(update_fields=["self_check_in", "allows_walk_ins", "updated_at"])
    audit_log_record(
        actor=changed_by,
        action="post.self_check_in",
        target=post,
        data={"self_check_in": post.self_check_in, "allows_walk_ins": post.allows_walk_ins},
    )
    return post
