"""The dry run: every row checked against the database, each problem by row and column."""

import hashlib
import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from openpyxl.utils.datetime import from_excel

from portal.resources import clean_whole_number, is_number_cell
from students.models import (
    STUDENT_NUMBER_REGEX,
    PracticeRecord,
    RecordStatus,
    Student,
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
from ..services.attendance import (
    CLOCK_SKEW,
    SCAN_MARGIN,
    Scan,
    scan_digest,
)
from .limits import (
    MAX_NOTE_LENGTH,
    QUERY_CHUNK,
)
from .reading import COLUMNS, SHEET_TIME_ZONE, TIME_FORMATS, SheetRow


# ------------------------------------------------------------------------------
# Checking rows (the dry run)
# ------------------------------------------------------------------------------
@dataclass
class RowError:
    row: int
    column: str
    code: str
    message: str
    value: str = ""

    def as_json(self) -> dict:
        return {
            "row": self.row,
            "column": self.column,
            "code": self.code,
            "message": self.message,
            "value": self.value,
        }


@dataclass
class PlannedRow:
    number: int
    student: Student
    session: Session
    check_in: datetime
    check_out: datetime
    note: str
    nonces: tuple[str, str]
    repeat: bool = False

    @property
    def credited(self) -> tuple[datetime, datetime]:
        """The part of the attendance inside the session: what the ledger record will cover."""
        return max(self.check_in, self.session.starts_at), min(self.check_out, self.session.ends_at)

    def scans(self) -> list[Scan]:
        return [
            Scan(nonce=self.nonces[0], student=self.student, kind=ScanKind.CHECK_IN,
                 happened_at=self.check_in),
            Scan(nonce=self.nonces[1], student=self.student, kind=ScanKind.CHECK_OUT,
                 happened_at=self.check_out),
        ]  # fmt: skip


@dataclass
class CheckResult:
    planned: list[PlannedRow]
    errors: list[RowError]

    @property
    def new_rows(self) -> list[PlannedRow]:
        return [row for row in self.planned if not row.repeat]


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return str(value).strip()[:100]


def parse_time(value: Any) -> datetime:
    """A Shanghai wall-clock date-time from a cell; ValueError with a reason otherwise."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, int | float) and not isinstance(value, bool) and 1 < value < 100_000:
        # A date cell that lost its format shows as Excel's serial number.
        moment = from_excel(value)
    else:
        text = "" if value is None else str(value).strip().replace("：", ":")
        if not text:
            raise ValueError(_("This cell is empty; a value is required."))
        text = re.sub(r"\s+", " ", text)
        for pattern in TIME_FORMATS:
            try:
                moment = datetime.strptime(text, pattern)
                break
            except ValueError:
                continue
        else:
            raise ValueError(
                _("%(value)s is not a date and time: use the form 2026-03-01 09:00.")
                % {"value": text[:40]}
            )
    if moment.tzinfo is not None:
        return moment.astimezone(SHEET_TIME_ZONE).replace(microsecond=0)
    return moment.replace(tzinfo=SHEET_TIME_ZONE, microsecond=0)


def row_nonce(*, base: Base, student_number: str, session_id: int, kind: str, at: datetime) -> str:
    """The scan id of one half of a row: the same row of the same base always gives the same id."""
    payload = "|".join(
        [str(base.pk), student_number, str(session_id), kind, at.astimezone(UTC).isoformat()]
    )
    return "imp:" + hashlib.sha256(payload.encode()).hexdigest()[:40]


def _local(moment: datetime, pattern: str = "Y-m-d H:i") -> str:
    return date_format(timezone.localtime(moment), pattern)


def _chunks(items: list, size: int = QUERY_CHUNK) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


@dataclass
class _Parsed:
    row: SheetRow
    student_number: str | None = None
    session_id: int | None = None
    check_in: datetime | None = None
    check_out: datetime | None = None
    note: str = ""


class _Checker:
    """Checks all rows with a fixed number of queries per 500 rows, whatever the file."""

    def __init__(self, *, base: Base, rows: list[SheetRow], now: datetime):
        self.base = base
        self.rows = rows
        self.now = now
        self.errors: list[RowError] = []
        self.failed: set[int] = set()

    def error(self, row: int, column: str, code: str, message: str, value: Any = "") -> None:
        self.errors.append(RowError(row, column, code, str(message), _text(value)))
        self.failed.add(row)

    # -- cells ---------------------------------------------------------------------------
    def parse(self, row: SheetRow) -> _Parsed:
        parsed = _Parsed(row=row)
        cells, n = row.cells, row.number
        number = cells.get("student_number")
        if is_number_cell(number):
            self.error(
                n,
                "student_number",
                "number_cell",
                _(
                    "The spreadsheet turned this student number into a number (%(value)s), which "
                    "may have lost digits. Format the column as text and type it again."
                )
                % {"value": number},
                number,
            )
        elif number is None or not str(number).strip():
            self.error(n, "student_number", "empty", _("This cell is empty; a value is required."))
        elif not re.fullmatch(STUDENT_NUMBER_REGEX, str(number).strip()):
            self.error(
                n,
                "student_number",
                "invalid",
                _("%(value)s is not a student number (6-32 letters or digits).")
                % {"value": _text(number)},
                number,
            )
        else:
            parsed.student_number = str(number).strip()
        session_id = cells.get("session_id")
        try:
            parsed.session_id = clean_whole_number(session_id)
        except ValueError as problem:
            self.error(n, "session_id", "invalid", str(problem), session_id)
        for column in ("check_in", "check_out"):
            try:
                setattr(parsed, column, parse_time(cells.get(column)))
            except ValueError as problem:
                self.error(n, column, "invalid_time", str(problem), cells.get(column))
        note = "" if cells.get("note") is None else str(cells.get("note")).strip()
        if len(note) > MAX_NOTE_LENGTH:
            self.error(
                n,
                "note",
                "too_long",
                _("Keep notes under %(max)s characters.") % {"max": MAX_NOTE_LENGTH},
            )
        parsed.note = note
        return parsed

    # -- what the database knows ---------------------------------------------------------
    def load(self, parsed: list[_Parsed]) -> None:
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
        own = [pk for pk, s in self.sessions.items() if s.post.base_id == self.base.pk]
        student_ids = sorted({s.pk for s in self.students.values()})
        self.confirmed: set[tuple[int, int]] = set()
        self.attendance: dict[tuple[int, int], Attendance] = {}
        for chunk in _chunks(student_ids):
            self.confirmed |= set(
                Application.objects.filter(
                    session_id__in=own,
                    student_id__in=chunk,
                    status__in=ON_SESSION_STATUSES,
                )
                .order_by()
                .values_list("session_id", "student_id")
            )
            for attendance in Attendance.objects.filter(
                session_id__in=own, student_id__in=chunk
            ).order_by():
                self.attendance[(attendance.session_id, attendance.student_id)] = attendance

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
                    checked_in_at__lt=end + SCAN_MARGIN,
                    checked_out_at__gt=start - SCAN_MARGIN,
                )
                .select_related("session__post")
                .order_by()
            ):
                self.others[attendance.student_id].append(attendance)

    def existing_digests(self, planned: list[PlannedRow]) -> dict[str, str]:
        nonces = sorted({nonce for p in planned for nonce in p.nonces})
        found: dict[str, str] = {}
        for chunk in _chunks(nonces):
            found.update(
                AttendanceScan.objects.filter(nonce__in=chunk)
                .order_by()
                .values_list("nonce", "payload_digest")
            )
        return found

    # -- rules ---------------------------------------------------------------------------
    def plan(self, p: _Parsed) -> PlannedRow | None:
        n = p.row.number
        student = self.students.get(p.student_number) if p.student_number else None
        if p.student_number and student is None:
            self.error(
                n,
                "student_number",
                "unknown_student",
                _("No student has the student number %(value)s.") % {"value": p.student_number},
                p.student_number,
            )
        session = self.sessions.get(p.session_id) if p.session_id is not None else None
        if p.session_id is not None:
            if session is None:
                self.error(
                    n,
                    "session_id",
                    "unknown_session",
                    _("There is no session %(value)s; see the sessions sheet of the template.")
                    % {"value": p.session_id},
                    p.session_id,
                )
            elif session.post.base_id != self.base.pk:
                self.error(
                    n,
                    "session_id",
                    "other_base",
                    _("Session %(value)s belongs to another base.") % {"value": p.session_id},
                    p.session_id,
                )
                session = None
        if p.check_in and p.check_out and p.check_out <= p.check_in:
            self.error(
                n,
                "check_out",
                "out_before_in",
                _("Check-out must come after check-in."),
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

    def check_repeat(self, row: PlannedRow, digests: dict[str, str]) -> None:
        """A row whose two scans are already recorded is a repeat: it adds nothing."""
        seen = 0
        for scan in row.scans():
            digest = scan_digest(
                session_id=row.session.pk,
                student_id=row.student.pk,
                kind=scan.kind,
                happened_at=scan.happened_at,
            )
            stored = digests.get(scan.nonce)
            if stored is None:
                continue
            if stored != digest:
                self.error(
                    row.number,
                    "check_in" if scan.kind == ScanKind.CHECK_IN else "check_out",
                    "nonce_reused",
                    _("This row clashes with a scan recorded earlier; check the row."),
                )
                return
            seen += 1
        row.repeat = seen == 2

    def check_row(self, row: PlannedRow) -> None:
        n, session, student = row.number, row.session, row.student
        if session.attendance_closed_at is not None:
            self.error(
                n,
                "session_id",
                "closed_session",
                _(
                    "Attendance for session %(value)s is already closed; ask the coordinator for "
                    "a correction instead."
                )
                % {"value": session.pk},
                session.pk,
            )
            return
        key = (session.pk, student.pk)
        attendance = self.attendance.get(key)
        if attendance is None and key not in self.confirmed:
            self.error(
                n,
                "student_number",
                "not_confirmed",
                _("%(name)s is not confirmed for session %(session)s.")
                % {"name": student.name, "session": session.pk},
                student.student_number,
            )
        for column, moment in (("check_in", row.check_in), ("check_out", row.check_out)):
            if moment > self.now + CLOCK_SKEW:
                self.error(
                    n,
                    column,
                    "time_in_future",
                    _("%(time)s is in the future.") % {"time": _local(moment)},
                    _local(moment),
                )
            elif not session.starts_at - SCAN_MARGIN <= moment <= session.ends_at + SCAN_MARGIN:
                self.error(
                    n,
                    column,
                    "time_outside_session",
                    _("%(time)s is outside the session (%(start)s–%(end)s).")
                    % {
                        "time": _local(moment),
                        "start": _local(session.starts_at),
                        "end": _local(session.ends_at, "H:i"),
                    },
                    _local(moment),
                )
        start, end = row.credited
        if n not in self.failed and end <= start:
            self.error(
                n,
                "check_in",
                "no_time_in_session",
                _("The times do not overlap the session (%(start)s–%(end)s).")
                % {"start": _local(session.starts_at), "end": _local(session.ends_at, "H:i")},
                _local(row.check_in),
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
                _(
                    "%(name)s is already recorded for this session (%(start)s–%(end)s); "
                    "change it with a correction on the roster."
                )
                % {
                    "name": student.name,
                    "start": _local(attendance.checked_in_at),
                    "end": _local(attendance.checked_out_at, "H:i"),
                },
                _local(row.check_in),
            )

    def check_overlaps(self, rows: list[PlannedRow]) -> None:
        """One student cannot be in two places at once: not in this file, not in the ledger."""
        by_student: dict[int, list[PlannedRow]] = defaultdict(list)
        first_row: dict[tuple[int, int], int] = {}
        for row in rows:
            key = (row.student.pk, row.session.pk)
            if key in first_row:
                self.error(
                    row.number,
                    "student_number",
                    "duplicate_row",
                    _("The same student and session are already on row %(row)s.")
                    % {"row": first_row[key]},
                    row.student.student_number,
                )
                continue
            first_row[key] = row.number
            by_student[row.student.pk].append(row)
        for student_rows in by_student.values():
            student_rows.sort(key=lambda r: r.credited[0])
            for earlier, later in zip(student_rows, student_rows[1:], strict=False):
                if later.credited[0] < earlier.credited[1] and later.number not in self.failed:
                    self.error(
                        later.number,
                        "check_in",
                        "overlap",
                        _("%(name)s is at another session at that time, on row %(row)s.")
                        % {"name": later.student.name, "row": earlier.number},
                        _local(later.check_in),
                    )
        for row in rows:
            if row.number in self.failed or row.repeat:
                continue
            start, end = row.credited
            for record in self.records.get(row.student.pk, ()):
                if record.started_at < end and record.ended_at > start:
                    self.error(
                        row.number,
                        "check_in",
                        "overlap",
                        _(
                            "%(name)s already has a record at that time: "
                            "%(title)s, %(start)s–%(end)s."
                        )
                        % {
                            "name": row.student.name,
                            "title": record.title,
                            "start": _local(record.started_at),
                            "end": _local(record.ended_at, "H:i"),
                        },
                        _local(row.check_in),
                    )
                    break
            else:
                for other in self.others.get(row.student.pk, ()):
                    if other.session_id == row.session.pk:
                        continue
                    other_start = max(other.checked_in_at, other.session.starts_at)
                    other_end = min(other.checked_out_at, other.session.ends_at)
                    if other_start < end and other_end > start:
                        self.error(
                            row.number,
                            "check_in",
                            "overlap",
                            _("%(name)s is recorded at %(post)s at that time (%(start)s–%(end)s).")
                            % {
                                "name": row.student.name,
                                "post": other.session.post.title,
                                "start": _local(other_start),
                                "end": _local(other_end, "H:i"),
                            },
                            _local(row.check_in),
                        )
                        break


def attendance_rows_check(*, base: Base, rows: list[SheetRow]) -> CheckResult:
    """The dry run: every row checked, each problem named by row and column; nothing written."""
    checker = _Checker(base=base, rows=rows, now=timezone.now())
    parsed = [checker.parse(row) for row in rows]
    checker.load(parsed)
    planned = [row for p in parsed if (row := checker.plan(p)) is not None]
    digests = checker.existing_digests(planned)
    for row in planned:
        checker.check_repeat(row, digests)
    for row in planned:
        if not row.repeat and row.number not in checker.failed:
            checker.check_row(row)
    live = [row for row in planned if row.number not in checker.failed]
    checker.load_conflicts([row for row in live if not row.repeat])
    checker.check_overlaps(live)
    errors = sorted(checker.errors, key=lambda e: (e.row, COLUMNS.index(e.column)))
    return CheckResult(
        planned=[row for row in planned if row.number not in checker.failed], errors=errors
    )
