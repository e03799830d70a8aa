"""The checked rows of a preview, kept compactly so that confirming reads no file.

A staged row is what the preview resolved: its row number, the student's and the session's ids
and the two times (seconds since the epoch; a sheet's times are whole seconds). Confirming
turns them back into planned rows with the students and the sessions it has locked, and checks
them again (`checking.attendance_rows_recheck`).
"""

from dataclasses import dataclass
from datetime import datetime

import orjson

from portal.sheet_problems import RowError
from students.models import Student

from ..messages import SHEET_UNKNOWN_SESSION, SHEET_UNKNOWN_STUDENT
from ..models import Session
from .limits import QUERY_CHUNK
from .planning import PlannedRow
from .reading import SHEET_TIME_ZONE


def _seconds(moment: datetime) -> int:
    return int(moment.timestamp())


def rows_stage(planned: list[PlannedRow]) -> bytes:
    """The checked rows in their compact stored form, with their sessions' times as checked."""
    sessions = {row.session.pk: row.session for row in planned}
    return orjson.dumps(
        {
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


def staged_load(data: bytes) -> Staged:
    stored = orjson.loads(data)
    return Staged(
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
