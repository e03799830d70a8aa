"""The dry run: every row checked against the database, each problem by row and column."""

from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from django.utils import timezone

from portal.messages import Message
from portal.sheet_problems import RowError
from students.models import (
    PracticeRecord,
    RecordStatus,
    Student,
)

from .. import attendance_rules as rules
from ..attendance_rules import local_time
from ..messages import (
    SHEET_ALREADY_RECORDED,
    SHEET_DUPLICATE_ROW,
    SHEET_NO_TIME_IN_SESSION,
    SHEET_NONCE_REUSED,
    SHEET_OTHER_BASE,
    SHEET_OUT_BEFORE_IN,
    SHEET_OVERLAPS,
    SHEET_RULES,
    SHEET_UNKNOWN_SESSION,
    SHEET_UNKNOWN_STUDENT,
)
from ..models import (
    ON_SESSION_STATUSES,
    Application,
    Attendance,
    AttendanceScan,
    Base,
    ScanKind,
    Session,
)
from ..services.attendance import scan_digest
from .limits import (
    QUERY_CHUNK,
)
from .parsing import Parsed, cell_text, row_parse
from .planning import CheckResult, PlannedRow, row_nonce
from .reading import COLUMNS, SheetRow


# ------------------------------------------------------------------------------
# Checking rows (the dry run)
# ------------------------------------------------------------------------------
def _chunks(items: list, size: int = QUERY_CHUNK) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class _Checker:
    """Checks all rows with a fixed number of queries per 500 rows, whatever the file."""

    def __init__(self, *, base: Base, now: datetime):
        self.base = base
        self.now = now
        self.errors: list[RowError] = []
        self.failed: set[int] = set()

    def error(self, row: int, column: str, code: str, message: Message, value: Any = "") -> None:
        self.errors.append(RowError(row, column, code, message, cell_text(value)))
        self.failed.add(row)

    # -- what the database knows ---------------------------------------------------------
    def resolve(self, parsed: list[Parsed]) -> None:
        """The students and sessions the rows name (the preview; confirming has their ids)."""
        numbers = sorted({p.student_number for p in parsed if p.student_number})
        self.students: dict[str, Student] = {}
        for chunk in _chunks(numbers):
            for student in Student.objects.filter(student_number__in=chunk).order_by():
                self.students[student.student_number] = student
        session_ids = sorted({p.session_id for p in parsed if p.session_id is not None})
        self.sessions: dict[int, Session] = {}
        for chunk in _chunks(session_ids):
            for session in (
                Session.objects.filter(pk__in=chunk).select_related("post__base").order_by()
            ):
                self.sessions[session.pk] = session

    def load_roster(self, planned: list[PlannedRow]) -> None:
        """Who is on the sessions' rosters, what is recorded already, and the scans' nonces."""
        own = sorted({row.session.pk for row in planned})
        student_ids = sorted({row.student.pk for row in planned})
        # (session id, student id) -> the application attendance links to, as the scans do.
        self.confirmed: dict[tuple[int, int], int] = {}
        self.attendance: dict[tuple[int, int], Attendance] = {}
        self.digests: dict[str, str] = {}
        self.scanned: set[tuple[int, int]] = set()
        for chunk in _chunks(student_ids):
            for key in (
                Application.objects.filter(
                    session_id__in=own,
                    student_id__in=chunk,
                    status__in=ON_SESSION_STATUSES,
                )
                .order_by("created_at", "id")
                .values_list("session_id", "student_id", "id")
            ):
                self.confirmed.setdefault(key[:2], key[2])
            for attendance in Attendance.objects.filter(
                session_id__in=own, student_id__in=chunk
            ).order_by():
                self.attendance[(attendance.session_id, attendance.student_id)] = attendance
        # A row's nonces name its session, so its scans, if recorded, are the session's. (A
        # nonce used at another session for something else fails the insert and the import is
        # recorded scan by scan, which names the row.)
        for chunk in _chunks(own):
            for nonce, digest, session_id, student_id in (
                AttendanceScan.objects.filter(session_id__in=chunk)
                .order_by()
                .values_list("nonce", "payload_digest", "session_id", "student_id")
            ):
                self.digests[nonce] = digest
                self.scanned.add((session_id, student_id))

    def load_conflicts(self, planned: list[PlannedRow]) -> None:
        """Other records and other open sessions' attendance of the students, in the window."""
        self.records: dict[int, list[PracticeRecord]] = defaultdict(list)
        self.others: dict[int, list[Attendance]] = defaultdict(list)
        if not planned:
            return
        start = min(p.credited[0] for p in planned)
        end = max(p.credited[1] for p in planned)
        student_ids = sorted({p.student.pk for p in planned})
        for chunk in _chunks(student_ids):
            for record in (
                PracticeRecord.objects.filter(
                    student_id__in=chunk, started_at__lt=end, ended_at__gt=start
                )
                .exclude(status=RecordStatus.REVOKED)
                .only("pk", "student_id", "title", "started_at", "ended_at", "source_ref")
                .order_by()
            ):
                self.records[record.student_id].append(record)
            for attendance in (
                Attendance.objects.filter(
                    student_id__in=chunk,
                    session__attendance_closed_at__isnull=True,
                    checked_in_at__isnull=False,
                    checked_out_at__isnull=False,
                    checked_in_at__lt=end + rules.SCAN_MARGIN,
                    checked_out_at__gt=start - rules.SCAN_MARGIN,
                )
                .select_related("session__post")
                .order_by()
            ):
                self.others[attendance.student_id].append(attendance)

    # -- rules ---------------------------------------------------------------------------
    def plan(self, p: Parsed) -> PlannedRow | None:
        n = p.row.number
        student = self.students.get(p.student_number) if p.student_number else None
        if p.student_number and student is None:
            self.error(
                n,
                "student_number",
                "unknown_student",
                SHEET_UNKNOWN_STUDENT(value=p.student_number),
                p.student_number,
            )
        session = self.sessions.get(p.session_id) if p.session_id is not None else None
        if p.session_id is not None:
            if session is None:
                self.error(
                    n,
                    "session_id",
                    "unknown_session",
                    SHEET_UNKNOWN_SESSION(value=p.session_id),
                    p.session_id,
                )
            elif session.post.base_id != self.base.pk:
                self.error(
                    n,
                    "session_id",
                    "other_base",
                    SHEET_OTHER_BASE(value=p.session_id),
                    p.session_id,
                )
                session = None
        if p.check_in and p.check_out and p.check_out <= p.check_in:
            self.error(
                n,
                "check_out",
                "out_before_in",
                SHEET_OUT_BEFORE_IN(),
                p.row.cells.get("check_out"),
            )
        if student is None or session is None or n in self.failed:
            return None
        return PlannedRow(
            number=n,
            student=student,
            session=session,
            check_in=p.check_in,
            check_out=p.check_out,
            note=p.note,
            nonces=(
                row_nonce(base=self.base, student_number=student.student_number,
                          session_id=session.pk, kind=ScanKind.CHECK_IN, at=p.check_in),
                row_nonce(base=self.base, student_number=student.student_number,
                          session_id=session.pk, kind=ScanKind.CHECK_OUT, at=p.check_out),
            ),
        )  # fmt: skip

    def check_repeat(self, row: PlannedRow) -> None:
        """A row whose two scans are already recorded is a repeat: it adds nothing."""
        if (row.session.pk, row.student.pk) not in self.scanned:
            return
        seen = 0
        for scan in row.scans():
            stored = self.digests.get(scan.nonce)
            if stored is None:
                continue
            digest = scan_digest(
                session_id=row.session.pk,
                student_id=row.student.pk,
                kind=scan.kind,
                happened_at=scan.happened_at,
            )
            if stored != digest:
                self.error(
                    row.number,
                    "check_in" if scan.kind == ScanKind.CHECK_IN else "check_out",
                    "nonce_reused",
                    SHEET_NONCE_REUSED(),
                )
                return
            seen += 1
        row.repeat = seen == 2

    def check_state(self, row: PlannedRow) -> bool:
        """The session still takes attendance and the student is on its roster; False when
        the session is closed (nothing else about the row is worth saying)."""
        n, session, student = row.number, row.session, row.student
        if problem := rules.session_closed(session=session):
            message = SHEET_RULES[problem](value=session.pk)
            self.error(n, "session_id", rules.SHEET_CLOSED_CODE, message, session.pk)
            return False
        key = (session.pk, student.pk)
        if problem := rules.on_roster(
            has_attendance=key in self.attendance, confirmed=key in self.confirmed
        ):
            message = SHEET_RULES[problem](name=student.name, session=session.pk)
            self.error(n, "student_number", problem, message, student.student_number)
        return True

    def check_row(self, row: PlannedRow) -> None:
        if not self.check_state(row):
            return
        n, session, student = row.number, row.session, row.student
        attendance = self.attendance.get((session.pk, student.pk))
        for column, moment in (("check_in", row.check_in), ("check_out", row.check_out)):
            if problem := rules.scan_time(session=session, happened_at=moment, now=self.now):
                params = rules.time_params(session=session, happened_at=moment)
                message = SHEET_RULES[problem](**params)
                self.error(n, column, problem, message, local_time(moment))
        start, end = row.credited
        if n not in self.failed and end <= start:
            self.error(
                n,
                "check_in",
                "no_time_in_session",
                SHEET_NO_TIME_IN_SESSION(
                    start=local_time(session.starts_at), end=local_time(session.ends_at, "H:i")
                ),
                local_time(row.check_in),
            )
        if attendance is not None and attendance.checked_in_at and attendance.checked_out_at:
            if (attendance.checked_in_at, attendance.checked_out_at) == (
                row.check_in,
                row.check_out,
            ):
                # Already recorded with these very times (e.g. on the roster): nothing to add.
                row.repeat = True
                return
            self.error(
                n,
                "check_in",
                "already_recorded",
                SHEET_ALREADY_RECORDED(
                    name=student.name,
                    start=local_time(attendance.checked_in_at),
                    end=local_time(attendance.checked_out_at, "H:i"),
                ),
                local_time(row.check_in),
            )

    def check_overlaps(self, rows: list[PlannedRow], *, within_file: bool = True) -> None:
        """One student cannot be in two places at once: not in this file, not in the ledger.

        `within_file=False` leaves out the rows' overlaps with each other (known to hold when
        neither the rows nor their sessions' times changed since they were checked).
        """
        by_student: dict[int, list[PlannedRow]] = defaultdict(list)
        first_row: dict[tuple[int, int], int] = {}
        for row in rows if within_file else ():
            key = (row.student.pk, row.session.pk)
            if key in first_row:
                self.error(
                    row.number,
                    "student_number",
                    "duplicate_row",
                    SHEET_DUPLICATE_ROW(row=first_row[key]),
                    row.student.student_number,
                )
                continue
            first_row[key] = row.number
            by_student[row.student.pk].append(row)
        for student_rows in by_student.values():
            student_rows.sort(key=lambda r: r.credited[0])
            for earlier, later in zip(student_rows, student_rows[1:], strict=False):
                problem = rules.overlap(span=later.credited, other=earlier.credited)
                if problem and later.number not in self.failed:
                    message = SHEET_OVERLAPS["row"](name=later.student.name, row=earlier.number)
                    self.error(
                        later.number, "check_in", problem, message, local_time(later.check_in)
                    )
        for row in rows:
            if row.number in self.failed or row.repeat:
                continue
            for record in self.records.get(row.student.pk, ()):
                problem = rules.overlap(
                    span=row.credited, other=(record.started_at, record.ended_at)
                )
                if problem:
                    self.error(
                        row.number,
                        "check_in",
                        problem,
                        SHEET_OVERLAPS["record"](
                            name=row.student.name,
                            title=record.title,
                            start=local_time(record.started_at),
                            end=local_time(record.ended_at, "H:i"),
                        ),
                        local_time(row.check_in),
                    )
                    break
            else:
                for other in self.others.get(row.student.pk, ()):
                    if other.session_id == row.session.pk:
                        continue
                    other_start, other_end = rules.credited_span(
                        session=other.session,
                        checked_in_at=other.checked_in_at,
                        checked_out_at=other.checked_out_at,
                    )
                    problem = rules.overlap(span=row.credited, other=(other_start, other_end))
                    if problem:
                        self.error(
                            row.number,
                            "check_in",
                            problem,
                            SHEET_OVERLAPS["attendance"](
                                name=row.student.name,
                                post=other.session.post.title,
                                start=local_time(other_start),
                                end=local_time(other_end, "H:i"),
                            ),
                            local_time(row.check_in),
                        )
                        break


def attendance_rows_check(*, base: Base, rows: list[SheetRow]) -> CheckResult:
    """The dry run: every row checked, each problem named by row and column; nothing written."""
    checker = _Checker(base=base, now=timezone.now())
    parsed = [row_parse(row, checker.error) for row in rows]
    checker.resolve(parsed)
    planned = [row for p in parsed if (row := checker.plan(p)) is not None]
    return _check_planned(checker, planned)


def attendance_rows_recheck(
    *, base: Base, planned: list[PlannedRow], unchanged_sessions: set[int]
) -> CheckResult:
    """The checks of rows read, resolved and checked before (by the preview), against what
    may have changed since: the sessions' state, the rosters, what is recorded, the ledger
    and other sessions (overlaps). A row of a session in `unchanged_sessions` (whose times
    are those the preview saw) with nothing recorded for its student and session has times
    that were and still are right, so only those are checked; other rows are checked whole."""
    checker = _Checker(base=base, now=timezone.now())
    for row in planned:
        if row.session.post.base_id != base.pk:
            checker.error(
                row.number,
                "session_id",
                "other_base",
                SHEET_OTHER_BASE(value=row.session.pk),
                row.session.pk,
            )
    planned = [row for row in planned if row.number not in checker.failed]
    checker.load_roster(planned)
    recorded = checker.scanned | set(checker.attendance)

    def as_checked(row: PlannedRow) -> bool:
        return row.session.pk in unchanged_sessions and (row.session.pk, row.student.pk) not in (
            recorded
        )

    for row in planned:
        if as_checked(row):
            checker.check_state(row)
            continue
        checker.check_repeat(row)
        if not row.repeat and row.number not in checker.failed:
            checker.check_row(row)
    sessions = {row.session.pk for row in planned}
    return _conflicts_checked(checker, planned, within_file=not sessions <= unchanged_sessions)


def _check_planned(checker: _Checker, planned: list[PlannedRow]) -> CheckResult:
    checker.load_roster(planned)
    for row in planned:
        checker.check_repeat(row)
    for row in planned:
        if not row.repeat and row.number not in checker.failed:
            checker.check_row(row)
    return _conflicts_checked(checker, planned, within_file=True)


def _conflicts_checked(checker: _Checker, planned: list[PlannedRow], *, within_file: bool):
    live = [row for row in planned if row.number not in checker.failed]
    checker.load_conflicts([row for row in live if not row.repeat])
    checker.check_overlaps(live, within_file=within_file)
    errors = sorted(checker.errors, key=lambda e: (e.row, COLUMNS.index(e.column)))
    return CheckResult(
        planned=[row for row in planned if row.number not in checker.failed],
        errors=errors,
        applications=checker.confirmed,
        recorded=checker.scanned | set(checker.attendance),
    )
