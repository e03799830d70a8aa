"""Corrections by hand: new times or credited minutes with a reason, before or after closing."""

from datetime import datetime

from django.db import transaction
from django.utils.translation import gettext as _

from portal.models import User
from portal.services import audit_log_record
from students.models import PracticeRecord, RecordedVia, Student
from students.services import LedgerError, practice_record_correct, practice_record_upsert

from ...attendance_rules import Problem
from ...errors import BaseError
from ...models import ON_ROSTER_STATUSES, Application, ApplicationStatus, Attendance, Session
from ...organisers import attendance_source_ref
from .closing import _facts_for
from .common import (
    attendance_build,
    check_coordinator,
    credited_minutes_for,
    lock_session,
    rule_error,
)


@transaction.atomic
def attendance_correct(
    *,
    attendance: Attendance,
    checked_in_at: datetime,
    checked_out_at: datetime,
    credited_minutes: int | None,
    reason: str,
    corrected_by: User,
) -> Attendance:
    """Change a student's times or credited minutes with a reason; after closing, the ledger
    record gets a new version that the student, the head teacher and the school admin see."""
    # The session first, as every writer of its attendance does: a batch of scans recording at
    # the same moment would otherwise overwrite the corrected times.
    lock_session(Session(pk=attendance.session_id))
    attendance = (
        Attendance.objects.select_for_update()
        .select_related("session__post__base__district", "session__post__category", "student")
        .get(pk=attendance.pk)
    )
    session = attendance.session
    check_coordinator(user=corrected_by, session=session)
    if not reason.strip():
        raise BaseError(_("A correction needs a reason."), code="reason_required")
    if checked_in_at >= checked_out_at:
        raise BaseError(_("Check-out must come after check-in."), code="out_before_in")
    overlap = credited_minutes_for(
        session=session, checked_in_at=checked_in_at, checked_out_at=checked_out_at
    )
    # The ledger credits at most the overlap with the session (design §3); storing more here
    # would leave the attendance and its record disagreeing.
    if credited_minutes is not None and not 0 <= credited_minutes <= overlap:
        raise BaseError(
            _("Credited minutes must lie between 0 and %(overlap)s (the time in the session)."),
            code="credit_out_of_range",
            params={"overlap": overlap},
        )
    before = {
        "checked_in_at": attendance.checked_in_at and attendance.checked_in_at.isoformat(),
        "checked_out_at": attendance.checked_out_at and attendance.checked_out_at.isoformat(),
        "credited_minutes": attendance.credited_minutes,
    }
    attendance.checked_in_at, attendance.checked_out_at = checked_in_at, checked_out_at
    attendance.corrected = True
    attendance.credited_minutes = credited_minutes if credited_minutes is not None else overlap
    attendance.save()
    if session.attendance_closed_at is not None:
        _correct_record(attendance=attendance, session=session, reason=reason, user=corrected_by)
    audit_log_record(
        actor=corrected_by,
        action="attendance.correct",
        target=attendance,
        data={
            "reason": reason.strip(),
            "before": before,
            "after": {
                "checked_in_at": checked_in_at.isoformat(),
                "checked_out_at": checked_out_at.isoformat(),
                "credited_minutes": attendance.credited_minutes,
            },
        },
    )
    return attendance


@transaction.atomic
def attendance_correct_for_student(
    *,
    session: Session,
    student: Student,
    checked_in_at: datetime,
    checked_out_at: datetime,
    credited_minutes: int | None,
    reason: str,
    corrected_by: User,
) -> Attendance:
    """`attendance_correct` for a student of the roster, even one recorded as absent (no row
    yet): the attendance is created, linked to the student's application, then corrected."""
    check_coordinator(user=corrected_by, session=session)
    lock_session(session)  # before creating the row, as a batch of scans would
    attendance = Attendance.objects.filter(session=session, student=student).order_by("pk").first()
    if attendance is None:
        application = Application.objects.filter(
            session=session,
            student=student,
            status__in=ON_ROSTER_STATUSES,
        ).first()
        if application is None:
            raise rule_error(Problem.NOT_CONFIRMED, name=student.name)
        attendance = attendance_build(
            session=session,
            student=student,
            application=application,
            recorded_via=RecordedVia.ROSTER,
            recorded_by=corrected_by,
        )
        attendance.save()
    return attendance_correct(
        attendance=attendance,
        checked_in_at=checked_in_at,
        checked_out_at=checked_out_at,
        credited_minutes=credited_minutes,
        reason=reason,
        corrected_by=corrected_by,
    )


def _correct_record(*, attendance: Attendance, session: Session, reason: str, user: User) -> None:
    facts = _facts_for(attendance=attendance, session=session, minutes=attendance.credited_minutes)
    source_ref = attendance_source_ref(attendance=attendance)
    record = PracticeRecord.objects.filter(source_ref=source_ref).first()
    try:
        if record is None:
            practice_record_upsert(
                source_ref=source_ref, facts=facts, recorded_by=user, reason=reason
            )
            session.applications.filter(student=attendance.student).exclude(
                status=ApplicationStatus.CANCELLED
            ).update(status=ApplicationStatus.ATTENDED)
        else:
            practice_record_correct(
                record=record,
                started_at=facts.started_at,
                ended_at=facts.ended_at,
                credited_minutes=facts.credited_minutes,
                changed_by=user,
                reason=reason,
            )
    except LedgerError as error:
        raise BaseError(error.messages[0], code=error.code) from error
