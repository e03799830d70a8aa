"""Closing a session's attendance into the ledger: one record per attended student."""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.models import User
from portal.services import audit_log_record
from students.services import LedgerError, RecordFacts, practice_record_upsert

from ...attendance_rules import credited_span
from ...errors import BaseError
from ...models import ApplicationStatus, Attendance, Session
from ...organisers import attendance_source_ref, base_organiser_ref
from .common import check_coordinator, credited_minutes_for, lock_open_session


def _facts_for(*, attendance: Attendance, session: Session, minutes: int) -> RecordFacts:
    post = session.post
    start, end = credited_span(
        session=session,
        checked_in_at=attendance.checked_in_at,
        checked_out_at=attendance.checked_out_at,
    )
    return RecordFacts(
        student=attendance.student,
        category=post.category,
        title=post.title,
        organiser_name=post.base.name,
        organiser_level=post.base.level,
        district=post.base.district,
        started_at=start,
        ended_at=end,
        credited_minutes=min(minutes, int((end - start).total_seconds() // 60)),
        recorded_via=attendance.recorded_via,
        organiser_ref=base_organiser_ref(base_id=post.base_id),
    )


def _minutes(attendance: Attendance, session: Session) -> int:
    if attendance.corrected and attendance.credited_minutes is not None:
        return attendance.credited_minutes
    return credited_minutes_for(
        session=session,
        checked_in_at=attendance.checked_in_at,
        checked_out_at=attendance.checked_out_at,
    )


@transaction.atomic
def session_attendance_close(*, session: Session, closed_by: User) -> int:
    """Close attendance: one ledger record per attended student, the rest marked no-show.

    Refused while anyone checked in has not checked out (the error names them). Returns the
    number of records written.
    """
    check_coordinator(user=closed_by, session=session)
    session = lock_open_session(session)
    if timezone.now() < session.starts_at:
        raise BaseError(_("A session can be closed once it has started."), code="not_started")
    attendances = list(
        Attendance.objects.filter(session=session).select_related("student__school_class")
    )
    waiting = [a.student.name for a in attendances if a.awaiting_confirmation]
    if waiting:
        raise BaseError(
            _("Confirm or refuse the walk-ins who checked in by themselves first: %(names)s."),
            code="walk_ins_awaiting",
            params={"names": "、".join(waiting)},
        )
    missing = [a.student.name for a in attendances if a.checked_in_at and not a.checked_out_at]
    if missing:
        raise BaseError(
            _("Check out everyone present before closing: %(names)s."),
            code="missing_checkout",
            params={"names": "、".join(missing)},
        )
    written = 0
    attended_students = set()
    for attendance in attendances:
        minutes = _minutes(attendance, session)
        attendance.credited_minutes = minutes
        attendance.save(update_fields=["credited_minutes", "updated_at"])
        if not attendance.checked_in_at or minutes <= 0:
            continue
        try:
            practice_record_upsert(
                source_ref=attendance_source_ref(attendance=attendance),
                facts=_facts_for(attendance=attendance, session=session, minutes=minutes),
                recorded_by=closed_by,
            )
        except LedgerError as error:
            raise BaseError(
                _("%(name)s: %(problem)s"),
                code=error.code,
                params={"name": attendance.student.name, "problem": error.messages[0]},
            ) from error
        written += 1
        attended_students.add(attendance.student_id)
    session.applications.filter(
        status=ApplicationStatus.CONFIRMED, student_id__in=attended_students
    ).update(status=ApplicationStatus.ATTENDED, updated_at=timezone.now())
    session.applications.filter(status=ApplicationStatus.CONFIRMED).update(
        status=ApplicationStatus.NO_SHOW, updated_at=timezone.now()
    )
    Session.objects.filter(pk=session.pk).update(
        attendance_closed_at=timezone.now(), attendance_closed_by=closed_by
    )
    audit_log_record(
        actor=closed_by, action="session.close", target=session, data={"records": written}
    )
    return written
