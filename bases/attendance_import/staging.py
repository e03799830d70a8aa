"""The checked rows of a preview, kept compactly so that confirming reads no file.

A staged row is what the preview resolved: its row number, the student's and the session's ids
and the two times (seconds since the epoch; a sheet's times are whole seconds). Confirming
turns them back into planned rows with the students and the sessions it has locked, and checks
them again (`checking.attendance_rows_recheck`).
"""

from datetime import datetime

import orjson

from portal.sheet_problems import RowError
from students.models import Student

from ..messages import SHEET_UNKNOWN_SESSION, SHEET_UNKNOWN_STUDENT
from ..models import Base, ScanKind, Session
from .limits import QUERY_CHUNK
from .planning import PlannedRow, row_nonce
from .reading import SHEET_TIME_ZONE


def rows_stage(planned: list[PlannedRow]) -> bytes:
    """The checked rows in their compact stored form."""
    return orjson.dumps(
        [
            [
                row.number,
                row.student.pk,
                row.session.pk,
                int(row.check_in.timestamp()),
                int(row.check_out.timestamp()),
            ]
            for row in planned
        ]
    )


def staged_session_ids(data: bytes) -> list[int]:
    """The sessions the staged rows name, in id order (the order their locks are taken in)."""
    return sorted({row[2] for row in orjson.loads(data)})


def rows_unstage(
    *, base: Base, data: bytes, sessions: dict[int, Session]
) -> tuple[list[PlannedRow], list[RowError]]:
    """The staged rows as planned rows, with their students and the given sessions; a row
    whose session or student is gone since the preview is an error instead."""
    staged = orjson.loads(data)
    student_ids = sorted({row[1] for row in staged})
    students: dict[int, Student] = {}
    for start in range(0, len(student_ids), QUERY_CHUNK):
        chunk = student_ids[start : start + QUERY_CHUNK]
        students.update(
            (student.pk, student) for student in Student.objects.filter(pk__in=chunk).order_by()
        )
    planned, errors = [], []
    for number, student_id, session_id, check_in, check_out in staged:
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
                nonces=(
                    row_nonce(
                        base=base,
                        student_number=student.student_number,
                        session_id=session_id,
                        kind=ScanKind.CHECK_IN,
                        at=check_in,
                    ),
                    row_nonce(
                        base=base,
                        student_number=student.student_number,
                        session_id=session_id,
                        kind=ScanKind.CHECK_OUT,
                        at=check_out,
                    ),
                ),
            )  # fmt: skip
        )
    return planned, errors
