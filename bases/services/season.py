"""A base runs its season: sessions moved, resized or called off, students removed, posts closed.

Every change here reaches the students it concerns as a notification, and none credits anything:
a cancelled session's applications end as cancelled (with the base's reason), its seats and its
class reservations are released, and attendance can no longer be recorded for it. Locks follow
the order of `applications`: a session row first, then its applications.
"""

from datetime import datetime

from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.models import User
from portal.services import audit_log_record
from students.guardians import student_notification_send

from ..errors import BaseError
from ..messages import APPLICATION_REMOVED, SESSION_CANCELLED, SESSION_CHANGED
from ..models import (
    LIVE_STATUSES,
    Allocation,
    Application,
    ApplicationStatus,
    Attendance,
    ClassReservation,
    Post,
    PostStatus,
    Session,
)
from .applications import _lock_session, session_label, waitlist_promote_next
from .publishing import _check_coordinator, check_session_hours

REASON_MAX = Session._meta.get_field("cancel_reason").max_length


def _clean_reason(reason: str) -> str:
    reason = " ".join(reason.split())
    if not reason:
        raise BaseError(_("Give a reason: the students are told it."), code="reason_required")
    if len(reason) > REASON_MAX:
        raise BaseError(
            _("The reason is too long (at most %(max)s characters)."),
            code="reason_too_long",
            params={"max": REASON_MAX},
        )
    return reason


def _check_changeable(session: Session) -> None:
    if session.cancelled_at is not None:
        raise BaseError(_("This session was cancelled."), code="cancelled")
    if session.starts_at <= timezone.now():
        raise BaseError(
            _("This session has started; it can no longer be changed or cancelled."),
            code="started",
        )


def _tell(applications, *, message, params: dict) -> None:
    for application in applications:
        student_notification_send(
            student=application.student,
            message=message,
            params=params,
            url=reverse("bases:my-applications"),
        )


def _live_applications(session: Session) -> list[Application]:
    return list(
        Application.objects.select_for_update(of=("self",))
        .filter(session=session, status__in=LIVE_STATUSES)
        .select_related("student__user")
        .order_by("pk")
    )


# ------------------------------------------------------------------------------
# Changing a session
# ------------------------------------------------------------------------------
@transaction.atomic
def session_update(
    *,
    session: Session,
    starts_at: datetime,
    ends_at: datetime,
    capacity: int,
    updated_by: User,
) -> Session:
    """Move a session or change its seats; every applicant is told of a new time.

    The capacity never goes below the seats taken (confirmed students and seats held for
    classes); more seats go to the waiting list first. The application window and the
    cancellation cut-off move with the start, keeping their distance to it.
    """
    _check_coordinator(user=updated_by, base=session.post.base)
    session = _lock_session(session)
    _check_changeable(session)
    if starts_at >= ends_at:
        raise BaseError(_("A session must end after it starts."), code="ends_before_start")
    if starts_at <= timezone.now():
        raise BaseError(_("A session cannot be moved into the past."), code="starts_in_past")
    if capacity < 1:
        raise BaseError(_("A session needs at least one seat."), code="no_capacity")
    if session.post.status != PostStatus.DRAFT:
        check_session_hours(post=session.post, sessions=[(starts_at, ends_at)])
    if capacity < session.taken:
        raise BaseError(
            _("%(taken)s seats are taken; the capacity cannot be lower than that."),
            code="capacity_below_taken",
            params={"taken": session.taken},
        )
    before = {
        "starts_at": session.starts_at.isoformat(),
        "ends_at": session.ends_at.isoformat(),
        "capacity": session.capacity,
    }
    old_label = session_label(session)
    moved = starts_at - session.starts_at
    time_changed = starts_at != session.starts_at or ends_at != session.ends_at
    session.starts_at, session.ends_at, session.capacity = starts_at, ends_at, capacity
    if moved:
        session.applications_close_at += moved
        if session.applications_close_at <= session.applications_open_at:
            raise BaseError(
                _("Moved this early, applications would close before they open."),
                code="window_order",
            )
        if session.cancel_cutoff_at is not None:
            session.cancel_cutoff_at += moved
    session.save()
    audit_log_record(
        actor=updated_by,
        action="session.update",
        target=session,
        data={
            "before": before,
            "after": {
                "starts_at": starts_at.isoformat(),
                "ends_at": ends_at.isoformat(),
                "capacity": capacity,
            },
        },
    )
    if session.allocation == Allocation.FIRST_COME or session.lottery_drawn_at is not None:
        for _seat in range(session.capacity - session.taken):
            if waitlist_promote_next(session=session) is None:
                break
            session.taken += 1
    if time_changed:
        _tell(
            _live_applications(session),
            message=SESSION_CHANGED,
            params={"before": old_label, "after": session_label(session)},
        )
    return session


# ------------------------------------------------------------------------------
# Cancelling a session
# ------------------------------------------------------------------------------
@transaction.atomic
def session_cancel(*, session: Session, cancelled_by: User, reason: str) -> Session:
    """Call a session off: every applicant told why, seats and class reservations released."""
    _check_coordinator(user=cancelled_by, base=session.post.base)
    reason = _clean_reason(reason)
    session = _lock_session(session)
    _check_changeable(session)
    if Attendance.objects.filter(session=session).exists():
        raise BaseError(
            _("Attendance is recorded for this session; it can no longer be cancelled."),
            code="has_attendance",
        )
    told = _cancel_locked(session=session, cancelled_by=cancelled_by, reason=reason)
    audit_log_record(
        actor=cancelled_by,
        action="session.cancel",
        target=session,
        data={"reason": reason, "applications": told},
    )
    return session


def _cancel_locked(*, session: Session, cancelled_by: User, reason: str) -> int:
    """Cancel a locked session; returns how many applications it ended."""
    now = timezone.now()
    applications = _live_applications(session)
    Application.objects.filter(pk__in=[a.pk for a in applications]).update(
        status=ApplicationStatus.CANCELLED, status_reason=reason, updated_at=now
    )
    ClassReservation.objects.filter(session=session, released_at=None).update(released_at=now)
    Session.objects.filter(pk=session.pk).update(
        taken=0, cancelled_at=now, cancelled_by=cancelled_by, cancel_reason=reason
    )
    session.taken, session.cancelled_at = 0, now
    session.cancelled_by, session.cancel_reason = cancelled_by, reason
    _tell(
        applications,
        message=SESSION_CANCELLED,
        params={"session": session_label(session), "reason": reason},
    )
    return len(applications)


# ------------------------------------------------------------------------------
# Removing a student
# ------------------------------------------------------------------------------
@transaction.atomic
def application_remove(*, application: Application, removed_by: User, reason: str) -> Application:
    """Take a student off a session, after the cut-off too; the waiting list moves up.

    For a student who cannot come (or should not): the student is told the base's reason. A
    seat held by a class reservation goes back to the class's unnamed seats until their release.
    """
    session = application.session
    _check_coordinator(user=removed_by, base=session.post.base)
    reason = _clean_reason(reason)
    session = _lock_session(session)
    application = (
        Application.objects.select_for_update(of=("self",))
        .select_related("student__user")
        .get(pk=application.pk)
    )
    if application.status not in LIVE_STATUSES:
        raise BaseError(
            _("This student is no longer on the session (%(status)s)."),
            code="not_live",
            params={"status": application.get_status_display()},
        )
    if session.ends_at <= timezone.now():
        raise BaseError(
            _("The session is over: correct its attendance on the roster instead."),
            code="ended",
        )
    was_confirmed = application.status == ApplicationStatus.CONFIRMED
    application.status = ApplicationStatus.REMOVED
    application.status_reason = reason
    application.save(update_fields=["status", "status_reason", "updated_at"])
    audit_log_record(
        actor=removed_by, action="application.remove", target=application, data={"reason": reason}
    )
    _tell(
        [application],
        message=APPLICATION_REMOVED,
        params={"session": session_label(session), "reason": reason},
    )
    if was_confirmed:
        reservation = application.reservation
        if reservation is None or reservation.released_at is not None:
            Session.objects.filter(pk=session.pk).update(taken=F("taken") - 1)
            waitlist_promote_next(session=session)
    return application


# ------------------------------------------------------------------------------
# Closing a post
# ------------------------------------------------------------------------------
def post_future_sessions(post: Post):
    """The post's sessions still to come and not cancelled: what closing it would affect."""
    return Session.objects.filter(post=post, starts_at__gt=timezone.now(), cancelled_at=None)


def post_close_affected(post: Post) -> tuple[int, int]:
    """(sessions, students): the future sessions with applicants, and their live applicants."""
    applications = Application.objects.filter(
        session__in=post_future_sessions(post), status__in=LIVE_STATUSES
    )
    return (
        applications.values("session_id").distinct().count(),
        applications.values("student_id").distinct().count(),
    )


@transaction.atomic
def post_close(
    *, post: Post, closed_by: User, cancel_sessions: bool = False, reason: str = ""
) -> Post:
    """Close a post. Future sessions with applicants are cancelled with notice in the same step
    when `cancel_sessions` is given (with the reason the students are told); otherwise closing
    is refused with the number of students affected."""
    _check_coordinator(user=closed_by, base=post.base)
    post = Post.objects.select_for_update().get(pk=post.pk)
    _sessions, students = post_close_affected(post)
    cancelled = []
    if students:
        if not cancel_sessions:
            raise BaseError(
                _(
                    "%(students)s students have applied for this post's future sessions: "
                    "cancel those sessions with a reason to close it."
                ),
                code="has_applicants",
                params={"students": students},
            )
        reason = _clean_reason(reason)
    if cancel_sessions:
        for session in post_future_sessions(post).order_by("starts_at", "pk"):
            locked = _lock_session(session)
            if Attendance.objects.filter(session=locked).exists():
                continue
            _cancel_locked(session=locked, cancelled_by=closed_by, reason=reason)
            cancelled.append(locked.pk)
    post.status = PostStatus.CLOSED
    post.save(update_fields=["status", "updated_at"])
    audit_log_record(
        actor=closed_by,
        action="post.close",
        target=post,
        data={"cancelled_sessions": cancelled, "reason": reason} if cancelled else {},
    )
    return post
