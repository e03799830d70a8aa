"""Recording scans, one or a batch.

Every scan carries a client-generated nonce and the time it happened. A nonce is recorded once;
the same nonce with another payload is refused. Attendance times are derived from the scans
(earliest check-in, latest check-out after it), so scans may arrive in any order and any number
of times. A correction by hand, with a reason, fixes the times; later scans no longer move them.

Two rules of the policy guard against a double scan (`students.selectors.attendance_scan_limits`):
a scan of a student within `scan_repeat_seconds` of another of theirs at the session is answered
"already recorded" (code `already_recorded`; a sheet's rows are exempt), and a check-out crediting
fewer than `minimum_checkout_minutes` is refused (code `short_stay`) unless the scan says it was
confirmed.
"""

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from operator import attrgetter

from django.db import IntegrityError, connection, transaction
from django.db.models import DateTimeField, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.messages import Message
from portal.models import User
from students.models import RecordedVia, Student
from students.selectors import ScanLimits, attendance_scan_limits

from ... import attendance_rules as rules
from ...errors import BaseError
from ...messages import SCAN_RULES
from ...models import (
    ON_ROSTER_STATUSES,
    ON_SESSION_STATUSES,
    Application,
    Attendance,
    AttendanceScan,
    ScanKind,
    Session,
)
from .common import (
    attendance_build,
    credited_minutes_for,
    lock_session,
    lock_sessions,
    rule_error,
)

# A scanned code says who, not which way: check in, or out if the student is already in.
AUTO_KIND = "auto"
SCAN_KINDS = frozenset(ScanKind.values)
# A sheet states each row's two times on purpose (and is checked row by row before it is
# imported), so its scans are not double scans whatever their distance to others.
REPEAT_EXEMPT_SOURCES = (RecordedVia.IMPORT,)


@dataclass(frozen=True)
class Scan:
    """One check-in or check-out as a device saw it."""

    nonce: str
    student: Student
    kind: str
    happened_at: datetime
    # A check-out crediting less than the policy's minimum is recorded only when someone
    # confirmed it (the roster asks); the API, sheets and "all present" need no question.
    short_stay_confirmed: bool = True


def scan_digest(*, session_id: int, student_id: int, kind: str, happened_at: datetime) -> str:
    """A fingerprint of what a scan says, to tell a retry from a reused nonce."""
    payload = json.dumps([session_id, student_id, kind, happened_at.astimezone(UTC).isoformat()])
    return hashlib.sha256(payload.encode()).hexdigest()


@dataclass(slots=True)
class _Row:
    """A scan's columns as the rules and a batch's insert need them, without a model instance
    (a batch reads and builds them by the hundred)."""

    nonce: str
    session_id: int
    student_id: int
    kind: str
    happened_at: datetime
    payload_digest: str
    source: str = ""
    recorded_by_id: int | None = None
    received_at: datetime | None = None  # set by the insert


class _Known:
    """What the database holds about one session's scans and students in a batch.

    Read under the session's lock (every writer of a session's attendance takes it first) and
    kept up to date as the batch records, so each scan costs only its own writes. `_known` reads
    it for one session, `_known_many` for all the sessions of a batch at once.
    """

    def __init__(self, *, session: Session, limits: ScanLimits, by_nonce: dict, student_ids):
        self.session = session
        self.limits = limits
        # Shared by the sessions of one batch: a nonce is recorded once in all of them.
        self.by_nonce: dict[str, _Row | AttendanceScan] = by_nonce
        self.attendances: dict[int, Attendance] = {}
        # The id of each student's first application holding a seat (confirmed or attended).
        self.applications: dict[int, int] = {}
        # Students with an application on the roster (also marked absent when attendance closed).
        self.on_roster: set[int] = set()
        self.scans_of: dict[int, list[_Row | AttendanceScan]] = {pk: [] for pk in student_ids}


def _known(*, session: Session, scans: list[Scan]) -> _Known:
    return _known_many([(session, scans)])[session.pk]


def _known_many(batches: list[tuple[Session, list[Scan]]]) -> dict[int, _Known]:
    """What the database holds about the scans of these sessions, by session id: four queries
    whatever the number of sessions (the policy, the scans, attendances, applications)."""
    limits = attendance_scan_limits()
    by_nonce: dict[str, _Row | AttendanceScan] = {}
    known = {
        session.pk: _Known(
            session=session,
            limits=limits,
            by_nonce=by_nonce,
            student_ids={scan.student.pk for scan in scans},
        )
        for session, scans in batches
    }
    session_ids = list(known)
    student_ids = {pk for k in known.values() for pk in k.scans_of}
    nonces = [scan.nonce for _session, scans in batches for scan in scans]
    # order_by(): the models' default orderings join session, student, class and school.
    recorded = (
        AttendanceScan.objects.filter(
            Q(nonce__in=nonces) | Q(session_id__in=session_ids, student_id__in=student_ids)
        )
        .order_by()
        .values_list("nonce", "session_id", "student_id", "kind", "happened_at", "payload_digest")
    )
    for values in recorded:
        scan = _Row(*values)
        by_nonce[scan.nonce] = scan
        mine = known.get(scan.session_id)
        if mine is not None and scan.student_id in mine.scans_of:
            mine.scans_of[scan.student_id].append(scan)
    for attendance in Attendance.objects.filter(
        session_id__in=session_ids, student_id__in=student_ids
    ).order_by():
        known[attendance.session_id].attendances[attendance.student_id] = attendance
    applications = (
        Application.objects.filter(
            session_id__in=session_ids, student_id__in=student_ids, status__in=ON_ROSTER_STATUSES
        )
        .order_by("created_at", "id")
        .values_list("pk", "session_id", "student_id", "status")
    )
    for pk, session_id, student_id, status in applications:
        mine = known[session_id]
        mine.on_roster.add(student_id)
        if status in ON_SESSION_STATUSES:
            mine.applications.setdefault(student_id, pk)
    return known


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
    problem = rules.on_roster(
        has_attendance=student.pk in known.attendances,
        confirmed=student.pk in known.applications,
    )
    if problem:
        raise rule_error(problem, name=student.name)


def _attendance_for(*, known: _Known, student: Student, source: str, user: User | None):
    attendance = known.attendances.get(student.pk)
    if attendance is None:
        attendance = attendance_build(
            session=known.session,
            student=student,
            application_id=known.applications[student.pk],
            recorded_via=source,
            recorded_by=user,
        )
        attendance.save()
        known.attendances[student.pk] = attendance
    return attendance


def _check_time(*, session: Session, happened_at: datetime) -> None:
    problem = rules.scan_time(session=session, happened_at=happened_at, now=timezone.now())
    if problem == rules.Problem.TIME_OUTSIDE_SESSION:
        raise rule_error(problem, **rules.time_params(session=session, happened_at=happened_at))
    if problem:
        raise rule_error(problem)


def _check_repeat(*, known: _Known, scan: Scan) -> None:
    """A scan this soon after (or before) another of the student's is a double scan."""
    repeated = rules.repeated_scan(
        happened_at=scan.happened_at,
        earlier=[s.happened_at for s in known.scans_of.get(scan.student.pk, [])],
        repeat=timedelta(seconds=known.limits.repeat_seconds),
    )
    if repeated is not None:
        raise rule_error(
            rules.Problem.ALREADY_RECORDED,
            name=scan.student.name,
            time=rules.local_time(repeated, "H:i:s"),
        )


def _check_short_stay(*, known: _Known, scan: Scan) -> None:
    """A check-out crediting less than the policy's minimum needs a confirmed scan."""
    if scan.kind != ScanKind.CHECK_OUT or scan.short_stay_confirmed:
        return
    attendance = known.attendances.get(scan.student.pk)
    if attendance is not None and attendance.corrected:
        return  # scans no longer move corrected times
    checked_in, _out = _paired(known.scans_of.get(scan.student.pk, []))
    if checked_in is None or checked_in >= scan.happened_at:
        return
    minimum = known.limits.minimum_checkout_minutes
    if rules.short_stay(
        session=known.session,
        checked_in_at=checked_in,
        checked_out_at=scan.happened_at,
        minimum=minimum,
    ):
        raise rule_error(
            rules.Problem.SHORT_STAY,
            name=scan.student.name,
            time=rules.local_time(checked_in, "H:i"),
            minutes=credited_minutes_for(
                session=known.session, checked_in_at=checked_in, checked_out_at=scan.happened_at
            ),
            minimum=minimum,
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
    *, known: _Known, scan: Scan, source: str, user: User | None, roster_first: bool = False
) -> tuple[_Row | AttendanceScan, bool]:
    """(the recorded scan, False) for a repeat; (the scan to record, unsaved, True) for a new one.

    Raises BaseError for a scan that must be refused. Writes nothing. With `roster_first`, a
    student not on the session's roster (no attendance, no application on it) is refused before
    anything else is looked at, so the answer is the same whatever else the scan says.
    """
    session = known.session
    if roster_first and not (
        scan.student.pk in known.attendances or scan.student.pk in known.on_roster
    ):
        raise rule_error(rules.Problem.NOT_CONFIRMED, name=scan.student.name)
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
    if problem := rules.session_closed(session=session):
        raise rule_error(problem)
    if scan.kind not in SCAN_KINDS:
        raise BaseError(_("A scan is a check-in or a check-out."), code="bad_kind")
    _check_time(session=session, happened_at=scan.happened_at)
    _check_on_roster(known=known, student=scan.student)
    if source not in REPEAT_EXEMPT_SOURCES:
        _check_repeat(known=known, scan=scan)
    _check_short_stay(known=known, scan=scan)
    new = _Row(
        nonce=scan.nonce,
        session_id=session.pk,
        student_id=scan.student.pk,
        kind=scan.kind,
        happened_at=scan.happened_at,
        payload_digest=digest,
        source=source,
        recorded_by_id=user.pk if user else None,
    )
    return new, True


def _record_scan(
    *, known: _Known, scan: Scan, source: str, user: User | None, roster_first: bool = False
) -> tuple[AttendanceScan, bool]:
    row, new = _prepare_scan(
        known=known, scan=scan, source=source, user=user, roster_first=roster_first
    )
    if not new:
        if isinstance(row, _Row):  # read with the batch: the caller gets the recorded scan
            row = AttendanceScan.objects.get(nonce=row.nonce)
        return row, False
    prepared = AttendanceScan(
        nonce=row.nonce,
        session=known.session,
        student=scan.student,
        kind=row.kind,
        happened_at=row.happened_at,
        source=source,
        payload_digest=row.payload_digest,
        recorded_by=user,
    )
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
    session = lock_session(session)
    known = _known(session=session, scans=[scan])
    return _record_scan(known=known, scan=scan, source=source, user=recorded_by)


@dataclass
class BatchResult:
    created: int = 0
    repeated: int = 0
    errors: list[tuple[int, str, str]] | None = None
    # "created", "repeated" or "error" for each scan, in the order given.
    outcomes: list[str] = field(default_factory=list)
    # Each refusal as a message to keep (a sheet's problems), beside `errors` in the same order.
    kept: list[Message | str] = field(default_factory=list)

    def refused(self, index: int, error: BaseError) -> None:
        self.errors.append((index, error.code, error.messages[0]))
        self.outcomes.append("error")
        kind = SCAN_RULES.get(error.code)
        self.kept.append(kind(**(error.params or {})) if kind else error.messages[0])

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

    `attendance_scans_record_many` with every scan at this session.
    """
    return _record_many(
        items=[(session.pk, scan) for scan in scans],
        sessions=[session],
        source=source,
        user=recorded_by,
        roster_first=False,
    )


def attendance_scans_record_many(
    *,
    scans: Sequence[tuple[Session, Scan]],
    source: str,
    recorded_by: User | None,
    roster_first: bool = False,
) -> BatchResult:
    """Record scans of several sessions in one pass: each stands alone; bad ones are reported by
    their index in `scans`, and the scans are checked in the order given.

    The sessions are locked in id order in one statement (so two batches never wait for each
    other in a circle), then everything the rules need is read in four queries for all of them,
    the batch is checked scan by scan in memory, and written in two statements: the new scans
    in one insert, the new and changed attendance rows in one upsert. If another transaction
    committed one of the same nonces meanwhile, the insert fails as a whole and the batch is
    recorded again scan by scan, each new scan in its own savepoint.

    With `roster_first` a student not on the session's roster is refused before anything else
    (the API's answer, the same whatever else the scan says). Joins the caller's transaction
    without a savepoint of its own.
    """
    sessions: dict[int, Session] = {}
    items = []
    for session, scan in scans:
        sessions.setdefault(session.pk, session)
        items.append((session.pk, scan))
    with transaction.atomic(savepoint=False):
        return _record_many(
            items=items,
            sessions=list(sessions.values()),
            source=source,
            user=recorded_by,
            roster_first=roster_first,
        )


def _record_many(*, items, sessions, source, user, roster_first) -> BatchResult:
    locked = lock_sessions(sessions)
    try:
        with transaction.atomic():
            return _record_batch(
                items=items, sessions=locked, source=source, user=user, roster_first=roster_first
            )
    except IntegrityError:
        return _record_one_by_one(
            items=items, sessions=locked, source=source, user=user, roster_first=roster_first
        )


def _group(items, sessions: dict[int, Session]) -> list[tuple[Session, list[Scan]]]:
    by_session: dict[int, list[Scan]] = {pk: [] for pk in sessions}
    for session_id, scan in items:
        by_session[session_id].append(scan)
    return [(sessions[pk], scans) for pk, scans in by_session.items()]


def _record_batch(*, items, sessions, source, user, roster_first) -> BatchResult:
    known = _known_many(_group(items, sessions))
    result = BatchResult(errors=[])
    new_scans: list[_Row] = []
    changed: dict[tuple[int, int], Attendance] = {}  # by (session, student), saved or not
    for index, (session_id, scan) in enumerate(items):
        mine = known[session_id]
        try:
            prepared, new = _prepare_scan(
                known=mine, scan=scan, source=source, user=user, roster_first=roster_first
            )
        except BaseError as error:
            result.refused(index, error)
            continue
        result.recorded(created=new)
        if not new:
            continue
        student_id = scan.student.pk
        new_scans.append(prepared)
        mine.by_nonce[prepared.nonce] = prepared
        mine.scans_of[student_id].append(prepared)
        attendance = mine.attendances.get(student_id)
        if attendance is None:
            attendance = attendance_build(
                session=mine.session,
                student=scan.student,
                application_id=mine.applications[student_id],
                recorded_via=source,
                recorded_by=user,
            )
            mine.attendances[student_id] = attendance
        if _repair(attendance, mine.scans_of[student_id]) or attendance.pk is None:
            changed[session_id, student_id] = attendance
    _insert(AttendanceScan, new_scans)
    # The new rows and the changed times of the others in one statement: the only conflict is
    # on (session, student), and it updates the times and nothing else (the session's lock
    # keeps every other writer of these rows out meanwhile).
    _insert(
        Attendance,
        list(changed.values()),
        conflict=("session", "student"),
        update=("checked_in_at", "checked_out_at", "updated_at"),
    )
    return result


def _insert(
    model, objs: list, *, conflict: tuple[str, ...] = (), update: tuple[str, ...] = ()
) -> None:
    """Insert these rows of the model (instances, or objects with its fields' attribute names;
    their ids not read back) in as few statements as the database allows, with ON CONFLICT
    (`conflict`) DO UPDATE of the `update` fields if given.

    What `bulk_create` would write, without its per-value preparation (a batch's scans spend
    more there than in the rest of their checks): the values are the rows' attributes as they
    are, times adapted for the database, `auto_now` fields set to now.
    """
    if not objs:
        return
    meta = model._meta
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    ops = connection.ops
    now = timezone.now()
    getters = []
    for f in fields:
        if isinstance(f, DateTimeField):
            if f.auto_now or f.auto_now_add:
                stamp = ops.adapt_datetimefield_value(now)
                getters.append(lambda _obj, stamp=stamp: stamp)
            else:
                getters.append(
                    lambda obj, name=f.attname: ops.adapt_datetimefield_value(getattr(obj, name))
                )
        else:
            getters.append(attrgetter(f.attname))
    quote = ops.quote_name
    columns = ", ".join(quote(f.column) for f in fields)
    tail = ""
    if conflict:
        target = ", ".join(quote(meta.get_field(name).column) for name in conflict)
        changes = ", ".join(
            f"{quote(meta.get_field(name).column)} = EXCLUDED.{quote(meta.get_field(name).column)}"
            for name in update
        )
        tail = f" ON CONFLICT ({target}) DO UPDATE SET {changes}"
    insert = f"INSERT INTO {quote(meta.db_table)} ({columns}) "
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # One array a column, as bulk_create does there: a handful of parameters to bind,
            # not one a value.
            arrays = ", ".join(f"(%s)::{f.db_type(connection).split('(')[0]}[]" for f in fields)
            cursor.execute(
                f"{insert}SELECT * FROM UNNEST({arrays}){tail}",
                [[get(obj) for obj in objs] for get in getters],
            )
            return
        row = "(" + ", ".join(["%s"] * len(fields)) + ")"
        size = ops.bulk_batch_size(fields, objs) or len(objs)
        for start in range(0, len(objs), size):
            chunk = objs[start : start + size]
            cursor.execute(
                f"{insert}VALUES {', '.join([row] * len(chunk))}{tail}",
                [get(obj) for obj in chunk for get in getters],
            )


def _record_one_by_one(*, items, sessions, source, user, roster_first) -> BatchResult:
    known = _known_many(_group(items, sessions))
    result = BatchResult(errors=[])
    for index, (session_id, scan) in enumerate(items):
        try:
            _scan, created = _record_scan(
                known=known[session_id],
                scan=scan,
                source=source,
                user=user,
                roster_first=roster_first,
            )
        except BaseError as error:
            result.refused(index, error)
            continue
        result.recorded(created=created)
    return result
