"""Lifting a student's reliability hold: their head teacher, with a reason, audited and told."""

from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.models import User
from portal.services import audit_log_record
from students.guardians import student_notification_send
from students.models import Student, TeacherAssignment, TeacherRole

from ..errors import BaseError
from ..messages import RELIABILITY_HOLD_LIFTED
from ..models import ReliabilityHoldLift
from ..reliability import student_reliability


@transaction.atomic
def reliability_hold_lift(*, student: Student, lifted_by: User, reason: str) -> ReliabilityHoldLift:
    """End the hold on a student of the teacher's own class; the no-shows so far stop counting."""
    reason = (reason or "").strip()
    if not reason:
        raise BaseError(_("Give the reason for lifting the hold."), code="reason_missing")
    if not TeacherAssignment.objects.filter(
        user=lifted_by, role=TeacherRole.HEAD_TEACHER, school_class_id=student.school_class_id
    ).exists():
        raise BaseError(
            _("Only the head teacher of the student's class may lift the hold."),
            code="not_authorised",
        )
    # The student row locked, as applying locks it: an application never sees half a lift.
    student = (
        Student.objects.select_for_update(of=("self",)).select_related("user").get(pk=student.pk)
    )
    now = timezone.now()
    hold = student_reliability(student_id=student.pk, now=now).hold
    if hold is None:
        raise BaseError(
            _("%(name)s is not held back: nothing to lift."),
            code="not_held",
            params={"name": student.name},
        )
    lift = ReliabilityHoldLift.objects.create(
        student=student, lifted_by=lifted_by, reason=reason, lifted_at=now
    )
    audit_log_record(
        actor=lifted_by,
        action="reliability.hold_lift",
        target=student,
        data={"reason": reason, "held_until": hold.until.isoformat(), "no_shows": hold.no_shows},
    )
    student_notification_send(
        student=student,
        message=RELIABILITY_HOLD_LIFTED,
        params={"reason": reason},
        url=reverse("dashboards:dashboard-student"),
    )
    return lift
