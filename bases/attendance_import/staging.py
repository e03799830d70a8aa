"""The checked rows of a preview, kept compactly so that confirming neither reads nor parses
the sheet again.

A staged row is what the preview resolved: its row number, the student's and the session's ids,
the two times (seconds since the epoch; a sheet's times are whole seconds) and the two scans'
nonces; beside the rows, each session's times as the preview checked them. Confirming turns
them back into planned rows with the students and the sessions it has locked, and checks them
again (`checking.attendance_rows_recheck`).

They are kept beside the uploaded file, in the same storage, as orjson keyed by the file's
SHA-256 and signed with the site's secret (`salted_hmac`): a stored form that does not match
its import, or was changed, is not used, and the import is read and checked from its file
again. They are removed once the import is imported or refused.
"""

import hmac
from dataclasses import dataclass
from datetime import datetime

import orjson
from django.core.files.base import ContentFile
from django.utils.crypto import salted_hmac

from portal.sheet_problems import RowError
from students.models import Student

from ..messages import SHEET_UNKNOWN_SESSION, SHEET_UNKNOWN_STUDENT
from ..models import AttendanceImport, Session
from .limits import QUERY_CHUNK
from .planning import PlannedRow
from .reading import SHEET_TIME_ZONE


def _seconds(moment: datetime) -> int:
    return int(moment.timestamp())


_SALT = "bases.attendance_import.staging"


def rows_stage(planned: list[PlannedRow], *, sha256: str) -> bytes:
    """The checked rows in their compact stored form, with their sessions' times as checked."""
    sessions = {row.session.pk: row.session for row in planned}
    return orjson.dumps(
        {
            "sha256": sha256,
            "rows": [
                [
                    row.number,
                    row.student.pk,
                    row.session.pk,
                    _seconds(row.check_in),
                    _seconds(row.check_out),
                    *row.nonces,
                ]
                for row in planned
            ],
            "sessions": {
                str(pk): [_seconds(s.starts_at), _seconds(s.ends_at)] for pk, s in sessions.items()
            },
        }
    )


@dataclass
class Staged:
    sha256: str
    rows: list[list]
    #: Session id -> its start and end as the preview checked them (seconds since the epoch).
    session_times: dict[int, tuple[int, int]]

    @property
    def session_ids(self) -> list[int]:
        """The sessions the rows name, in id order (the order their locks are taken in)."""
        return sorted(self.session_times)

    def unchanged_sessions(self, sessions: dict[int, Session]) -> set[int]:
        """The sessions whose times are still those the preview checked the rows against."""
        return {
            pk
            for pk, session in sessions.items()
            if self.session_times.get(pk)
            == (_seconds(session.starts_at), _seconds(session.ends_at))
        }


def _stage_name(attendance_import: AttendanceImport) -> str:
    return f"{attendance_import.file.name}.{attendance_import.sha256[:16]}.checked"


def _signature(data: bytes) -> bytes:
    return salted_hmac(_SALT, data, algorithm="sha256").hexdigest().encode()


def stage_save(attendance_import: AttendanceImport, data: bytes) -> None:
    """Keep the staged rows (`rows_stage`) of a previewed import beside its file."""
    storage = attendance_import.file.storage
    storage.save(_stage_name(attendance_import), ContentFile(_signature(data) + b"\n" + data))


def stage_read(attendance_import: AttendanceImport) -> "Staged | None":
    """The import's staged rows, or None if there are none it can trust."""
    storage, name = attendance_import.file.storage, _stage_name(attendance_import)
    try:
        with storage.open(name, "rb") as stored:
            signature, _newline, data = stored.read().partition(b"\n")
    except OSError:
        return None
    if not hmac.compare_digest(signature, _signature(data)):
        return None
    staged = staged_load(data)
    return staged if staged.sha256 == attendance_import.sha256 else None


def stage_delete(attendance_import: AttendanceImport) -> None:
    storage, name = attendance_import.file.storage, _stage_name(attendance_import)
    if storage.exists(name):
        storage.delete(name)


def staged_load(data: bytes) -> Staged:
    stored = orjson.loads(data)
    return Staged(
        sha256=stored["sha256"],
        rows=stored["rows"],
        session_times={int(pk): tuple(times) for pk, times in stored["sessions"].items()},
    )


def rows_unstage(
    *, staged: Staged, sessions: dict[int, Session]
) -> tuple[list[PlannedRow], list[RowError]]:
    """The staged rows as planned rows, with their students and the given sessions; a row
    whose session or student is gone since the preview is an error instead."""
    rows = staged.rows
    student_ids = sorted({row[1] for row in rows})
    students: dict[int, Student] = {}
    for start in range(0, len(student_ids), QUERY_CHUNK):
        chunk = student_ids[start : start + QUERY_CHUNK]
        students.update(
            (student.pk, student) for student in Student.objects.filter(pk__in=chunk).order_by()
        )
    planned, errors = [], []
    for number, student_id, session_id, check_in, check_out, nonce_in, nonce_out in rows:
        student, session = students.get(student_id), sessions.get(session_id)
        if session is None:
            message = SHEET_UNKNOWN_SESSION(value=session_id)
            errors.append(RowError(number, "session_id", "unknown_session", message))
            continue
        if student is None:
            message = SHEET_UNKNOWN_STUDENT(value=student_id)
            errors.append(RowError(number, "student_number", "unknown_student", message))
            continue
        check_in = datetime.fromtimestamp(check_in, SHEET_TIME_ZONE)
        check_out = datetime.fromtimestamp(check_out, SHEET_TIME_ZONE)
        planned.append(
            PlannedRow(
                number=number,
                student=student,
                session=session,
                check_in=check_in,
                check_out=check_out,
                note="",
                nonces=(nonce_in, nonce_out),
            )
        )
    return planned, errors
