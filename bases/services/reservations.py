"""Class booking (集体组织): a head teacher holds seats for the class and names the students."""

from datetime import datetime

from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from portal.models import User
from portal.services import audit_log_record
from students.guardians import student_notification_send
from students.models import SchoolClass, Student, TeacherAssignment, TeacherRole

from ..errors import BaseError
from ..messages import RESERVATION_NAMED
from ..models import LIVE_APPLICATION, Application, ApplicationStatus, ClassReservation, Session
from .applications import (
    _check_not_applied_nor_clashing,
    _lock_session,
    _lock_student,
    check_class_eligible,
    check_post_open,
    session_label,
    waitlist_promote_next,
)
from .consent import consent_missing


def _check_head_teacher(*, user: User, school_class: SchoolClass) -> None:
    if not TeacherAssignment.objects.filter(
        user=user, school_class=school_class, role=TeacherRole.HEAD_TEACHER
    ).exists():
        raise BaseError(_("Only the class's head teacher may book for it."), code="not_authorised")


@transaction.atomic
def class_reservation_create(
    *,
    session: Session,
    school_class: SchoolClass,
    seats: int,
    release_at: datetime,
    reserved_by: User,
) -> ClassReservation:
    """Hold seats for a class until `release_at`; unnamed seats then return to the pool."""
    _check_head_teacher(user=reserved_by, school_class=school_class)
    session = _lock_session(session)
    now = timezone.now()
    if seats < 1:
        raise BaseError(_("Book at least one seat."), code="no_seats")
    if not now < release_at <= session.applications_close_at:
        raise BaseError(
            _("The naming cut-off must be in the future and before applications close."),
            code="bad_release_time",
        )
    # The class must be one the post takes, as for each of its students applying alone.
    check_post_open(session=session, today=timezone.localdate(now))
    check_class_eligible(session=session, school_class=school_class, today=timezone.localdate(now))
    if ClassReservation.objects.filter(session=session, school_class=school_class).exists():
        raise BaseError(_("This class has already booked this session."), code="already_booked")
    free = session.capacity - session.taken
    if seats > free:
        raise BaseError(
            ngettext(
                "Only %(free)s seat is free on this session.",
                "Only %(free)s seats are free on this session.",
                free,
            ),
            code="full",
            params={"free": free},
        )
    Session.objects.filter(pk=session.pk).update(taken=F("taken") + seats)
    reservation = ClassReservation.objects.create(
        session=session,
        school_class=school_class,
        seats=seats,
        release_at=release_at,
        reserved_by=reserved_by,
    )
    audit_log_record(
        actor=reserved_by, action="reservation.create", target=reservation, data={"seats": seats}
    )
    return reservation


@transaction.atomic
def class_reservation_name(
    *, reservation: ClassReservation, student: Student, named_by: User
) -> Application:
    """Name a student of the class on a held seat; their application is confirmed at once."""
    _check_head_teacher(user=named_by, school_class=reservation.school_class)
    if student.school_class_id != reservation.school_class_id:
        raise BaseError(
            _("%(name)s is not in this class."), code="not_in_class", params={"name": student.name}
        )
    student = _lock_student(student)
    session = _lock_session(reservation.session)
    reservation = ClassReservation.objects.select_for_update().get(pk=reservation.pk)
    now = timezone.now()
    # The beat task may run a little after the cut-off; the cut-off itself is what counts.
    if reservation.released_at is not None or now >= reservation.release_at:
        raise BaseError(_("The naming cut-off has passed."), code="released")
    named = Application.objects.filter(LIVE_APPLICATION, reservation=reservation).count()
    if named >= reservation.seats:
        raise BaseError(_("Every booked seat is already named."), code="reservation_full")
    # The class's own seat: the application window does not apply (the teacher may name students
    # before it opens or after it closes), but the post must be open and the student eligible.
    check_post_open(session=session, today=timezone.localdate(now))
    check_class_eligible(
        session=session, school_class=student.school_class, today=timezone.localdate(now)
    )
    _check_not_applied_nor_clashing(session=session, student=student, on_behalf=True)
    if consent_missing(session=session, student=student):
        raise BaseError(
            _(
                "This post needs a guardian's consent, and %(name)s's has not been recorded. "
                "Ask the school admin to record the signed paper form, then name the student."
            ),
            code="consent_missing",
            params={"name": student.name},
        )
    application = Application.objects.create(
        student=student,
        session=session,
        reservation=reservation,
        status=ApplicationStatus.CONFIRMED,
    )
    audit_log_record(actor=named_by, action="reservation.name", target=application)
    student_notification_send(
        student=student,
        message=RESERVATION_NAMED,
        params={"session": session_label(session)},
        url=reverse("bases:my-applications"),
    )
    return application


@transaction.atomic
def class_reservation_release(*, reservation: ClassReservation) -> int:
    """Return the unnamed seats of one reservation to the pool; returns how many came back."""
    session = _lock_session(reservation.session)
    reservation = ClassReservation.objects.select_for_update().get(pk=reservation.pk)
    if reservation.released_at is not None:
        return 0
    named = Application.objects.filter(
        reservation=reservation, status=ApplicationStatus.CONFIRMED
    ).count()
    unnamed = reservation.seats - named
    reservation.released_at = timezone.now()
    reservation.save(update_fields=["released_at"])
    if unnamed:
        Session.objects.filter(pk=session.pk).update(taken=F("taken") - unnamed)
        for _seat in range(unnamed):
            if waitlist_promote_next(session=session) is None:
                break
    audit_log_record(
        actor=None, action="reservation.release", target=reservation, data={"returned": unnamed}
    )
    return unnamed


def reservations_due_for_release() -> list[int]:
    return list(
        ClassReservation.objects.filter(
            released_at__isnull=True, release_at__lte=timezone.now()
        ).values_list("pk", flat=True)
    )
