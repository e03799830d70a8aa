"""Roster actions: everyone present at once, a walk-in added by hand, and confirming or
refusing a walk-in who checked in by themselves."""

from django.db import transaction
from django.utils.translation import gettext as _

from portal.models import User
from portal.services import audit_log_record
from students.models import RecordedVia, Student

from ...errors import BaseError
from ...models import Application, ApplicationStatus, Attendance, AttendanceScan, ScanKind, Session
from .common import attendance_build, check_coordinator, lock_open_session
from .scans import Scan, _known, _record_scan


@transaction.atomic
def attendance_all_present(*, session: Session, recorded_by: User) -> int:
    """Check everyone confirmed and not yet recorded in at the start and out at the end."""
    check_coordinator(user=recorded_by, session=session)
    session = lock_open_session(session)
    recorded = set(
        Attendance.objects.filter(session=session, checked_in_at__isnull=False).values_list(
            "student_id", flat=True
        )
    )
    students = [
        a.student
        for a in session.applications.filter(status=ApplicationStatus.CONFIRMED).select_related(
            "student"
        )
        if a.student_id not in recorded
    ]
    scans = [
        Scan(
            nonce=f"all-present-{session.pk}-{student.pk}-{kind}",
            student=student,
            kind=kind,
            happened_at=at,
        )
        for student in students
        for kind, at in (
            (ScanKind.CHECK_IN, session.starts_at),
            (ScanKind.CHECK_OUT, session.ends_at),
        )
    ]
    known = _known(session=session, scans=scans)
    for scan in scans:
        _record_scan(known=known, scan=scan, source=RecordedVia.ROSTER, user=recorded_by)
    audit_log_record(
        actor=recorded_by,
        action="attendance.all_present",
        target=session,
        data={"students": len(students)},
    )
    return len(students)


@transaction.atomic
def attendance_walk_in_add(
    *, session: Session, student: Student, reason: str, added_by: User
) -> Attendance:
    """Add a student who did not apply: only with a written reason, always audited."""
    check_coordinator(user=added_by, session=session)
    if not reason.strip():
        raise BaseError(_("Say why this student is added."), code="reason_required")
    session = lock_open_session(session)
    if Attendance.objects.filter(session=session, student=student).exists():
        raise BaseError(
            _("%(name)s is already on the roster."),
            code="already_on_roster",
            params={"name": student.name},
        )
    application = Application.objects.filter(
        session=session, student=student, status=ApplicationStatus.CONFIRMED
    ).first()
    attendance = attendance_build(
        session=session,
        student=student,
        application=application,
        walk_in_reason=reason.strip(),
        recorded_by=added_by,
    )
    attendance.save()
    audit_log_record(
        actor=added_by,
        action="attendance.walk_in",
        target=attendance,
        data={"reason": reason.strip(), "student_number": student.student_number},
    )
    return attendance


def _awaiting(*, attendance: Attendance, user: User) -> Attendance:
    check_coordinator(user=user, session=attendance.session)
    lock_open_session(attendance.session)
    attendance = Attendance.objects.select_for_update().get(pk=attendance.pk)
    if not attendance.awaiting_confirmation:
        raise BaseError(
            _("This student is not waiting for confirmation."), code="not_awaiting_confirmation"
        )
    return attendance


@transaction.atomic
def attendance_walk_in_confirm(*, attendance: Attendance, confirmed_by: User) -> Attendance:
    """Keep a walk-in who checked in by themselves: they are on the roster like any walk-in."""
    attendance = _awaiting(attendance=attendance, user=confirmed_by)
    attendance.awaiting_confirmation = False
    attendance.save(update_fields=["awaiting_confirmation", "updated_at"])
    audit_log_record(actor=confirmed_by, action="attendance.walk_in_confirm", target=attendance)
    return attendance


@transaction.atomic
def attendance_walk_in_refuse(*, attendance: Attendance, refused_by: User) -> None:
    """Remove a walk-in who checked in by themselves but is not taking part; their scans go."""
    attendance = _awaiting(attendance=attendance, user=refused_by)
    audit_log_record(
        actor=refused_by,
        action="attendance.walk_in_refuse",
        target=attendance,
        data={"student_number": attendance.student.student_number},
    )
    AttendanceScan.objects.filter(session=attendance.session, student=attendance.student).delete()
    attendance.delete()
