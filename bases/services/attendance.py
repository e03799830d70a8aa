"""Attendance: scans (check-in and check-out), all present, walk-ins, closing, corrections.

Every scan carries a client-generated nonce and the time it happened. A nonce is recorded once;
the same nonce with another payload is refused. Attendance times are derived from the scans
(earliest check-in, latest check-out after it), so scans may arrive in any order and any number
of times. A correction by hand, with a reason, fixes the times; later scans no longer move them.
"""

import hashlib
import json
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from portal.models import User
from portal.services import audit_log_record
from students.models import RecordedVia, Student
from students.services import (
    LedgerError,
    RecordFacts,
    practice_record_correct,
    practice_record_upsert,
)

from ..errors import BaseError
from ..models import (
    Application,
    ApplicationStatus,
    Attendance,
    AttendanceScan,
    Coordinator,
    ScanKind,
    Session,
)

# How far outside the session a scan may happen: early arrivals and late check-outs.
SCAN_MARGIN = timedelta(hours=3)
# Clocks of phones and scanners drift; a scan a little in the future is still accepted.
CLOCK_SKEW = timedelta(minutes=5)
# A scanned code says who, not which way: check in, or out if the student is already in.
AUTO_KIND = "auto"


@dataclass(frozen=True)
class Scan:
    """One check-in or check-out as a device saw it."""

    nonce: str
    student: Student
    kind: str
    happened_at: datetime


def scan_digest(*, session_id: int, student_id: int, kind: str, happened_at: datetime) -> str:
    """A fingerprint of what a scan says, to tell a retry from a reused nonce."""
    payload = json.dumps([session_id, student_id, kind, happened_at.astimezone(UTC).isoformat()])
    return hashlib.sha256(payload.encode()).hexdigest()


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
    start = max(checked_in_at, session.starts_at)
    end = min(checked_out_at, session.ends_at)
    return max(0, int((end - start).total_seconds() // 60))


def _lock_session(session: Session) -> Session:
    return (
        Session.objects.select_for_update(of=("self",))
        .select_related("post__base__district", "post__category")
        .get(pk=session.pk)
    )


def _closed_error() -> BaseError:
    return BaseError(
        _("Attendance for this session is closed; ask for a correction instead."),
        code="closed",
    )


def _lock_open_session(session: Session) -> Session:
    session = _lock_session(session)
    if session.attendance_closed_at is not None:
        raise _closed_error()
    return session


class _Known:
    """What the database holds about a batch's scans and students, read in four queries.

    Read under the session's lock (every writer of a session's attendance takes it first) and
    kept up to date as the batch records, so each scan costs only its own writes.
    """

    def __init__(self, *, session: Session, scans: list[Scan]):
        self.session = session
        self.by_nonce: dict[str, AttendanceScan] = {
            s.nonce: s
            for s in AttendanceScan.objects.filter(nonce__in=[s.nonce for s in scans]).order_by()
        }
        student_ids = {scan.student.pk for scan in scans}
        # order_by(): the models' default orderings join session, student, class and school.
        self.attendances: dict[int, Attendance] = {
            a.student_id: a
            for a in Attendance.objects.filter(
                session=session, student_id__in=student_ids
            ).order_by()
        }
        self.applications: dict[int, Application] = {}
        for application in Application.objects.filter(
            session=session,
            student_id__in=student_ids,
            status__in=[ApplicationStatus.CONFIRMED, ApplicationStatus.ATTENDED],
        ).order_by("created_at", "id"):
            self.applications.setdefault(application.student_id, application)
        self.scans_of: dict[int, list[AttendanceScan]] = {pk: [] for pk in student_ids}
        for scan in AttendanceScan.objects.filter(
            session=session, student_id__in=student_ids
        ).order_by():
            self.scans_of[scan.student_id].append(scan)


def _paired(scans: list[AttendanceScan]) -> tuple[datetime | None, datetime | None]:
    """Pair the scans: the earliest check-in, and the latest check-out after it."""
    ins = sorted(s.happened_at for s in scans if s.kind == ScanKind.CHECK_IN)
    checked_in = ins[0] if ins else None
    outs = sorted(
        s.happened_at
        for s in scans
        if s.kind == ScanKind.CHECK_OUT and checked_in is not None and s.happened_at > checked_in
    )
    return checked_in, outs[-1] if outs else None


def _repair(attendance: Attendance, scans: list[AttendanceScan]) -> bool:
    """Set the attendance's times from its scans (unless corrected by hand); True if changed."""
    if attendance.corrected:
        return False
    times = _paired(scans)
    if (attendance.checked_in_at, attendance.checked_out_at) == times:
        return False
    attendance.checked_in_at, attendance.checked_out_at = times
    return True


def _recompute(attendance: Attendance, scans: list[AttendanceScan]) -> None:
    if _repair(attendance, scans):
        attendance.save(update_fields=["checked_in_at", "checked_out_at", "updated_at"])


def _check_on_roster(*, known: _Known, student: Student) -> None:
    if student.pk not in known.attendances and student.pk not in known.applications:
        raise BaseError(
            _("%(name)s is not confirmed for this session."),
            code="not_confirmed",
            params={"name": student.name},
        )


def _attendance_for(*, known: _Known, student: Student, source: str, user: User | None):
    attendance = known.attendances.get(student.pk)
    if attendance is None:
        attendance = Attendance.objects.create(
            session=known.session,
            student=student,
            application=known.applications[student.pk],
            recorded_via=source,
            recorded_by=user,
        )
        known.attendances[student.pk] = attendance
    return attendance


def _check_time(*, session: Session, happened_at: datetime) -> None:
    if happened_at > timezone.now() + CLOCK_SKEW:
        raise BaseError(_("A scan cannot happen in the future."), code="time_in_future")
    if not session.starts_at - SCAN_MARGIN <= happened_at <= session.ends_at + SCAN_MARGIN:
        raise BaseError(
            _("%(time)s is outside the session (%(start)s–%(end)s)."),
            code="time_outside_session",
            params={
                "time": date_format(timezone.localtime(happened_at), "Y-m-d H:i"),
                "start": date_format(timezone.localtime(session.starts_at), "Y-m-d H:i"),
                "end": date_format(timezone.localtime(session.ends_at), "H:i"),
            },
        )


def _resolve_kind(*, known: _Known, scan: Scan, existing: AttendanceScan | None) -> str:
    """The kind of an AUTO scan: as first recorded for a retry, else out if already checked in."""
    if existing is not None:
        return existing.kind
    attendance = known.attendances.get(scan.student.pk)
    if attendance and attendance.checked_in_at and attendance.checked_in_at < scan.happened_at:
        return ScanKind.CHECK_OUT
    return ScanKind.CHECK_IN


def _reused(nonce: str) -> BaseError:
    return BaseError(
        _("Scan id %(nonce)s was already used for a different scan."),
        code="nonce_reused",
        params={"nonce": nonce},
    )


def _prepare_scan(
    *, known: _Known, scan: Scan, source: str, user: User | None
) -> tuple[AttendanceScan, bool]:
    """(the recorded scan, False) for a repeat; (the scan to record, unsaved, True) for a new one.

    Raises BaseError for a scan that must be refused. Writes nothing.
    """
    session = known.session
    existing = known.by_nonce.get(scan.nonce)
    if scan.kind == AUTO_KIND:
        scan = replace(scan, kind=_resolve_kind(known=known, scan=scan, existing=existing))
    digest = scan_digest(
        session_id=session.pk,
        student_id=scan.student.pk,
        kind=scan.kind,
        happened_at=scan.happened_at,
    )
    if existing is not None:
        if existing.payload_digest != digest:
            raise _reused(scan.nonce)
        return existing, False
    # Checked after the nonce, so a retry of a scan recorded before closing still succeeds.
    if session.attendance_closed_at is not None:
        raise _closed_error()
    if scan.kind not in ScanKind.values:
        raise BaseError(_("A scan is a check-in or a check-out."), code="bad_kind")
    _check_time(session=session, happened_at=scan.happened_at)
    _check_on_roster(known=known, student=scan.student)
    new = AttendanceScan(
        nonce=scan.nonce,
        session=session,
        student=scan.student,
        kind=scan.kind,
        happened_at=scan.happened_at,
        source=source,
        payload_digest=digest,
        recorded_by=user,
    )
    return new, True


def _record_scan(
    *, known: _Known, scan: Scan, source: str, user: User | None
) -> tuple[AttendanceScan, bool]:
    prepared, new = _prepare_scan(known=known, scan=scan, source=source, user=user)
    if not new:
        return prepared, False
    # Nothing is written before this point, so a refused scan leaves nothing to undo.
    try:
        with transaction.atomic():
            prepared.save(force_insert=True)
    except IntegrityError:
        # The same nonce arrived at once in another session's transaction, which committed it.
        existing = AttendanceScan.objects.get(nonce=scan.nonce)
        if existing.payload_digest != prepared.payload_digest:
            raise _reused(scan.nonce) from None
        return existing, False
    known.by_nonce[scan.nonce] = prepared
    known.scans_of[scan.student.pk].append(prepared)
    attendance = _attendance_for(known=known, student=scan.student, source=source, user=user)
    _recompute(attendance, known.scans_of[scan.student.pk])
    return prepared, True


@transaction.atomic
def attendance_scan_record(
    *, session: Session, scan: Scan, source: str, recorded_by: User | None
) -> tuple[AttendanceScan, bool]:
    """Record one check-in or check-out; returns (scan, created). A repeated nonce is a no-op.

    `scan.kind` may be AUTO_KIND (a scanned code): check in, or out if already checked in.
    """
    session = _lock_session(session)
    known = _Known(session=session, scans=[scan])
    return _record_scan(known=known, scan=scan, source=source, user=recorded_by)


@dataclass
class BatchResult:
    created: int = 0
    repeated: int = 0
    errors: list[tuple[int, str, str]] | None = None
    # "created", "repeated" or "error" for each scan, in the order given.
    outcomes: list[str] = field(default_factory=list)

    def refused(self, index: int, error: BaseError) -> None:
        self.errors.append((index, error.code, error.messages[0]))
        self.outcomes.append("error")

    def recorded(self, *, created: bool) -> None:
        if created:
            self.created += 1
        else:
            self.repeated += 1
        self.outcomes.append("created" if created else "repeated")


@transaction.atomic
def attendance_scans_record(
    *, session: Session, scans: list[Scan], source: str, recorded_by: User | None
) -> BatchResult:
    """Record many scans of one session: each stands alone; bad ones are reported by index.

    Once the session is closed, scans recorded before still answer as repeated (a retry after
    a lost response), and new ones are refused one by one with the code `closed`.

    The batch is checked scan by scan in memory, then written in a few statements (the new
    scans in one insert, new attendances in one, changed ones in one update). If another
    transaction committed one of the same nonces meanwhile, the insert fails as a whole and
    the batch is recorded again scan by scan, each new scan in its own savepoint.
    """
    session = _lock_session(session)
    try:
        with transaction.atomic():
            return _record_batch(session=session, scans=scans, source=source, user=recorded_by)
    except IntegrityError:
        return _record_one_by_one(session=session, scans=scans, source=source, user=recorded_by)


def _record_batch(*, session: Session, scans: list[Scan], source: str, user: User | None):
    known = _Known(session=session, scans=scans)
    result = BatchResult(errors=[])
    new_scans: list[AttendanceScan] = []
    changed: dict[int, Attendance] = {}  # by student id, saved or not
    for index, scan in enumerate(scans):
        try:
            prepared, new = _prepare_scan(known=known, scan=scan, source=source, user=user)
        except BaseError as error:
            result.refused(index, error)
            continue
        result.recorded(created=new)
        if not new:
            continue
        student_id = scan.student.pk
        new_scans.append(prepared)
        known.by_nonce[prepared.nonce] = prepared
        known.scans_of[student_id].append(prepared)
        attendance = known.attendances.get(student_id)
        if attendance is None:
            attendance = Attendance(
                session=session,
                student=scan.student,
                application=known.applications[student_id],
                recorded_via=source,
                recorded_by=user,
            )
            known.attendances[student_id] = attendance
        if _repair(attendance, known.scans_of[student_id]) or attendance.pk is None:
            changed[student_id] = attendance
    added = [a for a in changed.values() if a.pk is None]
    updated = [a for a in changed.values() if a.pk is not None]
    AttendanceScan.objects.bulk_create(new_scans)
    Attendance.objects.bulk_create(added)
    now = timezone.now()
    for attendance in updated:
        attendance.updated_at = now  # bulk_update does not set auto_now fields
    Attendance.objects.bulk_update(updated, ["checked_in_at", "checked_out_at", "updated_at"])
    return result


def _record_one_by_one(*, session: Session, scans: list[Scan], source: str, user: User | None):
    known = _Known(session=session, scans=scans)
    result = BatchResult(errors=[])
    for index, scan in enumerate(scans):
        try:
            _scan, created = _record_scan(known=known, scan=scan, source=source, user=user)
        except BaseError as error:
            result.refused(index, error)
            continue
        result.recorded(created=created)
    return result


@transaction.atomic
def attendance_all_present(*, session: Session, recorded_by: User) -> int:
    """Check everyone confirmed and not yet recorded in at the start and out at the end."""
    check_coordinator(user=recorded_by, session=session)
    session = _lock_open_session(session)
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
    known = _Known(session=session, scans=scans)
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
    session = _lock_open_session(session)
    if Attendance.objects.filter(session=session, student=student).exists():
        raise BaseError(
            _("%(name)s is already on the roster."),
            code="already_on_roster",
            params={"name": student.name},
        )
    application = Application.objects.filter(
        session=session, student=student, status=ApplicationStatus.CONFIRMED
    ).first()
    attendance = Attendance.objects.create(
        session=session,
        student=student,
        application=application,
        walk_in_reason=reason.strip(),
        recorded_by=added_by,
    )
    audit_log_record(
        actor=added_by,
        action="attendance.walk_in",
        target=attendance,
        data={"reason": reason.strip(), "student_number": student.student_number},
    )
    return attendance


def _facts_for(*, attendance: Attendance, session: Session, minutes: int) -> RecordFacts:
    post = session.post
    start = max(attendance.checked_in_at, session.starts_at)
    end = min(attendance.checked_out_at, session.ends_at)
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
        organiser_ref=f"base:{post.base_id}",
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
    session = _lock_open_session(session)
    if timezone.now() < session.starts_at:
        raise BaseError(_("A session can be closed once it has started."), code="not_started")
    attendances = list(
        Attendance.objects.filter(session=session).select_related("student__school_class")
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
                source_ref=f"attendance:{attendance.pk}",
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
    _lock_session(Session(pk=attendance.session_id))
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
    _lock_session(session)  # before creating the row, as a batch of scans would
    attendance = Attendance.objects.filter(session=session, student=student).order_by("pk").first()
    if attendance is None:
        application = Application.objects.filter(
            session=session,
            student=student,
            status__in=[
                ApplicationStatus.CONFIRMED,
                ApplicationStatus.ATTENDED,
                ApplicationStatus.NO_SHOW,
            ],
        ).first()
        if application is None:
            raise BaseError(
                _("%(name)s is not confirmed for this session."),
                code="not_confirmed",
                params={"name": student.name},
            )
        attendance = Attendance.objects.create(
            session=session,
            student=student,
            application=application,
            recorded_via=RecordedVia.ROSTER,
            recorded_by=corrected_by,
        )
    return attendance_correct(
        attendance=attendance,
        checked_in_at=checked_in_at,
        checked_out_at=checked_out_at,
        credited_minutes=credited_minutes,
        reason=reason,
        corrected_by=corrected_by,
    )


def _correct_record(*, attendance: Attendance, session: Session, reason: str, user: User) -> None:
    from students.models import PracticeRecord

    facts = _facts_for(attendance=attendance, session=session, minutes=attendance.credited_minutes)
    record = PracticeRecord.objects.filter(source_ref=f"attendance:{attendance.pk}").first()
    try:
        if record is None:
            practice_record_upsert(
                source_ref=f"attendance:{attendance.pk}", facts=facts, recorded_by=user
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
