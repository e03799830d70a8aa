"""What a checked sheet plans to record: its rows, each with the two scans it becomes."""

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property

from portal.sheet_problems import RowError
from students.models import Student

from .. import attendance_rules as rules
from ..models import Base, ScanKind, Session
from ..services.attendance import Scan


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

    @cached_property
    def credited(self) -> tuple[datetime, datetime]:
        """The part of the attendance inside the session: what the ledger record will cover."""
        return rules.credited_span(
            session=self.session, checked_in_at=self.check_in, checked_out_at=self.check_out
        )

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
    #: (session id, student id) -> the application an attendance of the pair links to.
    applications: dict[tuple[int, int], int] = field(default_factory=dict)
    #: The pairs with an attendance or a scan already: their rows go through the scan service.
    recorded: set[tuple[int, int]] = field(default_factory=set)

    @property
    def new_rows(self) -> list[PlannedRow]:
        return [row for row in self.planned if not row.repeat]


def row_nonce(*, base: Base, student_number: str, session_id: int, kind: str, at: datetime) -> str:
    """The scan id of one half of a row: the same row of the same base always gives the same id."""
    payload = "|".join(
        [str(base.pk), student_number, str(session_id), kind, at.astimezone(UTC).isoformat()]
    )
    return "imp:" + hashlib.sha256(payload.encode()).hexdigest()[:40]
