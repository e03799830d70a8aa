"""What every attendance writer shares: the coordinator check, the session lock, the row."""

from datetime import datetime

from django.utils.translation import gettext as _

from portal.models import User
from students.models import Student

from ...attendance_rules import SCAN_MESSAGES, Problem, credited_span, session_closed
from ...errors import BaseError
from ...models import Application, Attendance, Coordinator, Session


def check_coordinator(*, user: User, session: Session) -> None:
    if not Coordinator.objects.filter(user=user, base_id=session.post.base_id).exists():
        raise BaseError(
            _("Only the base's coordinators may record attendance."), code="not_authorised"
        )


def credited_minutes_for(
    *, session: Session, checked_in_at: datetime | None, checked_out_at: datetime | None
) -> int:
    """Whole minutes of overlap between [check-in, check-out] and [session start, end]."""
    if checked_in_at is None or checked_out_at is None:
        return 0
    start, end = credited_span(
        session=session, checked_in_at=checked_in_at, checked_out_at=checked_out_at
    )
    return max(0, int((end - start).total_seconds() // 60))


def _locking():
    return Session.objects.select_for_update(of=("self",)).select_related(
        "post__base__district", "post__category"
    )


def lock_session(session: Session) -> Session:
    return _locking().get(pk=session.pk)


def lock_sessions(sessions: list[Session]) -> dict[int, Session]:
    """Lock these sessions in one statement, in id order (as every writer of several does, so
    none waits for another in a circle); fresh from the database, by id."""
    if len(sessions) == 1:
        return {sessions[0].pk: lock_session(sessions[0])}
    locked = {s.pk: s for s in _locking().filter(pk__in=[s.pk for s in sessions]).order_by("pk")}
    if len(locked) < len({s.pk for s in sessions}):
        raise Session.DoesNotExist("A session of the batch no longer exists.")
    return locked


def rule_error(problem: Problem, **params) -> BaseError:
    """A refused scan or roster action, worded for the roster and the API."""
    return BaseError(_(SCAN_MESSAGES[problem]), code=problem.value, params=params or None)


def lock_open_session(session: Session) -> Session:
    session = lock_session(session)
    if problem := session_closed(session=session):
        raise rule_error(problem)
    return session


def attendance_build(
    *,
    session: Session,
    student: Student,
    application: Application | None = None,
    recorded_by: User | None,
    recorded_via: str | None = None,
    walk_in_reason: str = "",
    application_id: int | None = None,
) -> Attendance:
    """An unsaved attendance row of a student at a session (the only place one is built); of the
    application, its row or only its id."""
    attendance = Attendance(
        session=session,
        student=student,
        walk_in_reason=walk_in_reason,
        recorded_by=recorded_by,
    )
    if application is not None:
        attendance.application = application
    else:
        attendance.application_id = application_id
    if recorded_via is not None:
        attendance.recorded_via = recorded_via
    return attendance
