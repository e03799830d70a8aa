"""Guardian consent for posts whose kinds need it (the safety policy says which).

A student applying for such a post without a live consent is recorded as `awaiting_consent`:
the application holds no seat and enters no draw. When the school records the paper form (or,
later, the guardian gives consent in the portal), each awaiting application goes ahead as if it
were made then: a first-come session confirms it while seats remain, else it joins the waiting
list; a lottery session not yet drawn takes it into the draw, a drawn one onto the waiting list.
A withdrawn consent sends the student's live applications for the post back to waiting for
consent, and a seat they held goes to the next on the waiting list.
"""

from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.models import Role, User
from portal.services import audit_log_record, notification_send_bulk
from students.guardians import is_guardian_of, student_notification_send
from students.models import Student, TeacherRole
from students.policies import safety_policy_on

from ..errors import BaseError
from ..messages import APPLICATION_AWAITING_CONSENT, CONSENT_AWAITED, CONSENT_WITHDRAWN
from ..models import (
    LIVE_STATUSES,
    Allocation,
    Application,
    ApplicationStatus,
    ConsentVia,
    GuardianConsent,
    Post,
    Session,
)
from ..reliability import student_reliability


def consent_needed(*, session: Session) -> bool:
    """Whether the session's post is of a kind the safety policy (on its date) needs consent for."""
    if not session.post.kinds:  # a post of no kind needs consent under every policy
        return False
    policy = safety_policy_on(
        day=timezone.localdate(session.starts_at, timezone.get_default_timezone())
    )
    return bool(session.post.kinds & policy.consent_kinds)


def consent_live(*, student: Student, post: Post) -> GuardianConsent | None:
    return GuardianConsent.objects.filter(
        student=student, post=post, withdrawn_at__isnull=True
    ).first()


def consent_missing(*, session: Session, student: Student) -> bool:
    """A student who may not be confirmed on this session yet: consent needed, none given."""
    return (
        consent_needed(session=session) and consent_live(student=student, post=session.post) is None
    )


def school_admins_of(student: Student) -> list[User]:
    return list(
        User.objects.filter(
            teacher_assignments__role=TeacherRole.SCHOOL_ADMIN,
            teacher_assignments__school_id=student.school_class.school_id,
            is_active=True,
        ).distinct()
    )


def tell_school_consent_awaited(application: Application, label: str) -> None:
    """Tell the student's school admins that a paper consent form is awaited."""
    params = {"name": application.student.name, "session": label}
    notification_send_bulk(
        message=CONSENT_AWAITED,
        items=[
            (user, params, reverse("bases:consents-awaiting"))
            for user in school_admins_of(application.student)
        ],
    )


def _check_school_admin(*, user: User, student: Student) -> None:
    if not user.teacher_assignments.filter(
        role=TeacherRole.SCHOOL_ADMIN, school_id=student.school_class.school_id
    ).exists():
        raise BaseError(
            _("Consent on paper is recorded by the student's school admin."),
            code="not_authorised",
        )


def _check_guardian(*, user: User, student: Student) -> None:
    if not is_guardian_of(user=user, student_id=student.pk):
        raise BaseError(
            _("Only a guardian linked to this student can give consent in the portal."),
            code="not_authorised",
        )


def _go_ahead(application: Application) -> None:
    """Move an application waiting for consent on as if it were made now; tell the student."""
    from .applications import _lock_session, _take_seat, _tell_applied

    session = _lock_session(application.session)
    now = timezone.now()
    if session.cancelled_at is not None or session.starts_at <= now:
        return
    reservation = application.reservation
    # As when applying: a student held back by the reliability rule waits for a first-come seat.
    hold = student_reliability(student_id=application.student_id, now=now).hold
    if reservation is not None and reservation.released_at is None:
        status = ApplicationStatus.CONFIRMED  # the class's seat, still held for this student
    elif session.allocation == Allocation.LOTTERY and session.lottery_drawn_at is None:
        status = ApplicationStatus.PENDING
    elif session.allocation == Allocation.FIRST_COME and hold is None and _take_seat(session):
        status = ApplicationStatus.CONFIRMED
    else:
        status = ApplicationStatus.WAITLISTED
    application.status = status
    application.save(update_fields=["status", "updated_at"])
    audit_log_record(
        actor=None,
        action="application.consent_go_ahead",
        target=application,
        data={"status": status},
    )
    _tell_applied(application, hold=hold)


@transaction.atomic
def guardian_consent_record(
    *, student: Student, post: Post, recorded_by: User, given_via: str = ConsentVia.PAPER
) -> GuardianConsent:
    """Record a guardian's consent for a student and a post; awaiting applications go ahead.

    On paper, the student's school admin records it; in the portal, a guardian linked to the
    student gives it. Recording it twice changes nothing.
    """
    from .applications import _lock_student

    if given_via == ConsentVia.PAPER:
        _check_school_admin(user=recorded_by, student=student)
    else:
        _check_guardian(user=recorded_by, student=student)
    student = _lock_student(student)
    consent = consent_live(student=student, post=post)
    if consent is not None:
        return consent
    consent = GuardianConsent.objects.create(
        student=student,
        post=post,
        given_via=given_via,
        recorded_by=recorded_by,
        given_at=timezone.now(),
    )
    audit_log_record(
        actor=recorded_by,
        action="consent.record",
        target=consent,
        data={
            "student_id": student.pk,
            "post_id": post.pk,
            "given_via": given_via,
            "by": recorded_by.get_full_name(),
            "at": consent.given_at.isoformat(),
        },
    )
    waiting = (
        Application.objects.select_for_update(of=("self",))
        .filter(student=student, session__post=post, status=ApplicationStatus.AWAITING_CONSENT)
        .select_related("student__user", "session__post", "reservation")
        .order_by("session__starts_at", "pk")
    )
    for application in waiting:
        _go_ahead(application)
    return consent


@transaction.atomic
def guardian_consent_withdraw(*, consent: GuardianConsent, withdrawn_by: User) -> GuardianConsent:
    """Withdraw a consent; the student's live applications for the post wait for consent again.

    A linked guardian may withdraw any consent for their child (on paper or in the portal), and
    so may the student's school admin.
    """
    from .applications import _lock_student

    consent = GuardianConsent.objects.select_related("student__school_class", "post").get(
        pk=consent.pk
    )
    if withdrawn_by.role == Role.GUARDIAN:
        _check_guardian(user=withdrawn_by, student=consent.student)
    else:
        _check_school_admin(user=withdrawn_by, student=consent.student)
    _lock_student(consent.student)
    consent = GuardianConsent.objects.select_for_update().get(pk=consent.pk)
    if consent.withdrawn_at is not None:
        return consent
    consent.withdrawn_at, consent.withdrawn_by = timezone.now(), withdrawn_by
    consent.save(update_fields=["withdrawn_at", "withdrawn_by"])
    audit_log_record(
        actor=withdrawn_by,
        action="consent.withdraw",
        target=consent,
        data={
            "student_id": consent.student_id,
            "post_id": consent.post_id,
            "by": withdrawn_by.get_full_name(),
            "at": consent.withdrawn_at.isoformat(),
        },
    )
    live = Application.objects.filter(
        student_id=consent.student_id, session__post_id=consent.post_id
    )
    _send_back_to_waiting(live, actor=withdrawn_by)
    student = consent.student
    student_notification_send(
        student=student,
        message=CONSENT_WITHDRAWN,
        params={"title": consent.post.title},
        url=reverse("bases:my-applications"),
    )
    return consent


def _send_back_to_waiting(applications, *, actor: User | None) -> list[Application]:
    """Live applications (of sessions still to come) back to awaiting consent; a seat they held
    goes to the next on the waiting list (a class's seat stays the class's)."""
    from .applications import _lock_session, waitlist_promote_next

    moved = []
    live = (
        applications.filter(
            session__starts_at__gt=timezone.now(),
            status__in=[s for s in LIVE_STATUSES if s != ApplicationStatus.AWAITING_CONSENT],
        )
        .select_related("session", "reservation")
        .order_by("session__starts_at", "pk")
    )
    for application in live:
        session = _lock_session(application.session)
        application = Application.objects.select_for_update().get(pk=application.pk)
        was_confirmed = application.status == ApplicationStatus.CONFIRMED
        application.status = ApplicationStatus.AWAITING_CONSENT
        application.save(update_fields=["status", "updated_at"])
        audit_log_record(actor=actor, action="application.consent_awaited", target=application)
        reservation = application.reservation
        held_by_class = reservation is not None and reservation.released_at is None
        if was_confirmed and not held_by_class:
            Session.objects.filter(pk=session.pk).update(taken=F("taken") - 1)
            waitlist_promote_next(session=session)
        moved.append(application)
    return moved


def post_consent_recheck(*, post: Post, changed_by: User) -> int:
    """After a post's kinds change: students seated on its sessions to come whose guardian has
    not consented wait for consent again, and are told; returns how many. Call inside the
    change's transaction."""
    sessions = post.sessions.filter(starts_at__gt=timezone.now(), cancelled_at__isnull=True)
    needing = [session.pk for session in sessions if consent_needed(session=session)]
    if not needing:
        return 0
    consented = GuardianConsent.objects.filter(post=post, withdrawn_at__isnull=True).values(
        "student_id"
    )
    applications = Application.objects.filter(session_id__in=needing).exclude(
        student_id__in=consented
    )
    moved = _send_back_to_waiting(applications, actor=changed_by)
    for application in moved:
        application = Application.objects.select_related(
            "student__user", "student__school_class", "session__post"
        ).get(pk=application.pk)
        from .applications import session_label

        label = session_label(application.session)
        student_notification_send(
            student=application.student,
            message=APPLICATION_AWAITING_CONSENT,
            params={"session": label},
            url=reverse("bases:my-applications"),
        )
        tell_school_consent_awaited(application, label)
    return len(moved)
