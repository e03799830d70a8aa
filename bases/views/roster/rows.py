"""What the roster shows, read in a fixed number of queries, and how it names what happened."""

from dataclasses import dataclass
from datetime import datetime
from hashlib import sha256

from django.db.models import Exists, OuterRef, Q
from django.db.models.functions import Upper
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from portal.models import AuditLog
from students.models import RecordedVia, Student

from ...forms_attendance import CorrectionForm
from ...models import (
    ON_ROSTER_STATUSES,
    Application,
    Attendance,
    AttendanceScan,
    ScanKind,
    Session,
)


def hm(moment: datetime | None) -> str:
    return timezone.localtime(moment).strftime("%H:%M") if moment else ""


def last_iso(*moments: datetime | None) -> str:
    known = [m for m in moments if m is not None]
    return max(known).isoformat() if known else ""


@dataclass
class RosterRow:
    student: Student
    attendance: Attendance | None
    application_status: str | None
    correction_form: CorrectionForm | None = None  # set once attendance is closed
    self_checked_in: bool = False  # a scan of their own (self check-in)

    @property
    def code_hash(self) -> str:
        """The page matches a scanned personal code offline without showing the code itself."""
        return sha256(self.student.personal_code.upper().encode()).hexdigest()

    @property
    def walk_in_reason(self) -> str:
        return self.attendance.walk_in_reason if self.attendance else ""

    @property
    def checked_in_at(self) -> datetime | None:
        return self.attendance.checked_in_at if self.attendance else None

    @property
    def checked_out_at(self) -> datetime | None:
        return self.attendance.checked_out_at if self.attendance else None

    @property
    def last_scan_iso(self) -> str:
        """The latest time recorded for the student, for the page's double-scan check."""
        return last_iso(self.checked_in_at, self.checked_out_at)

    @property
    def missing_checkout(self) -> bool:
        return bool(self.checked_in_at and not self.checked_out_at)


def roster_rows(session: Session) -> tuple[list[RosterRow], list[RosterRow]]:
    """(students confirmed for the session, walk-ins added with a reason), each by name."""
    applications = (
        Application.objects.filter(session=session, status__in=ON_ROSTER_STATUSES)
        .select_related("student__school_class")
        .order_by("student__name", "student_id")
    )
    attendances = {
        a.student_id: a
        for a in Attendance.objects.filter(session=session)
        .select_related("student__school_class")
        .annotate(by_self=Exists(_self_scans(session).filter(student_id=OuterRef("student_id"))))
    }
    by_self = {pk for pk, a in attendances.items() if a.by_self}
    confirmed = [
        RosterRow(
            a.student,
            attendances.pop(a.student_id, None),
            a.status,
            self_checked_in=a.student_id in by_self,
        )
        for a in applications
    ]
    walk_ins = sorted(
        (
            RosterRow(a.student, a, None, self_checked_in=a.student_id in by_self)
            for a in attendances.values()
        ),
        key=lambda row: (row.student.name, row.student.pk),
    )
    return confirmed, walk_ins


def roster_students(session: Session):
    """Students on the roster: confirmed (or already settled) for the session, or walked in."""
    return Student.objects.filter(
        Q(applications__session=session, applications__status__in=ON_ROSTER_STATUSES)
        | Q(attendances__session=session)
    ).distinct()


def students_by_key(session: Session, *, ids: list, codes: list) -> dict:
    """{id or code: student} among the roster's students, by id, personal code or number."""
    ids = [i for i in ids if i]
    codes = [c for c in codes if c]
    if not ids and not codes:
        return {}
    students = (
        roster_students(session)
        .annotate(number_upper=Upper("student_number"))
        .filter(Q(pk__in=ids) | Q(personal_code__in=codes) | Q(number_upper__in=codes))
    )
    found = {}
    for student in students:
        found[student.pk] = student
        found[student.personal_code.upper()] = student
        found[student.number_upper] = student
    return found


def roster_corrections(rows: list[RosterRow]) -> list[dict]:
    """Corrections of this roster's attendance, newest first: who, when, why, before and after."""
    names = {str(r.attendance.pk): r.student.name for r in rows if r.attendance}
    entries = AuditLog.objects.filter(
        action="attendance.correct", object_type="bases.attendance", object_id__in=list(names)
    ).select_related("actor")
    return [
        {
            "at": entry.created_at,
            "actor": entry.actor.get_full_name() if entry.actor else "",
            "student": names[entry.object_id],
            "reason": entry.data.get("reason", ""),
            "before": _times(entry.data.get("before") or {}),
            "after": _times(entry.data.get("after") or {}),
        }
        for entry in entries
    ]


def _times(values: dict) -> dict:
    def parse(value):
        return parse_datetime(value) if isinstance(value, str) else None

    return {
        "in": hm(parse(values.get("checked_in_at"))),
        "out": hm(parse(values.get("checked_out_at"))),
        "minutes": values.get("credited_minutes"),
    }


def _self_scans(session: Session):
    """The session's scans a student made themselves (self check-in)."""
    return AttendanceScan.objects.filter(session=session, source=RecordedVia.SELF).order_by()


def self_checked_in(session: Session) -> set[int]:
    """Students of the session with a scan of their own."""
    return set(_self_scans(session).values_list("student_id", flat=True))


def row_states(session: Session) -> dict:
    by_self = self_checked_in(session)
    return {
        str(a.student_id): {
            "in": hm(a.checked_in_at),
            "out": hm(a.checked_out_at),
            "minutes": a.credited_minutes,
            "corrected": a.corrected,
            "self": a.student_id in by_self,
            "awaiting": a.awaiting_confirmation,
            "last": last_iso(a.checked_in_at, a.checked_out_at),
        }
        for a in Attendance.objects.filter(session=session).only(
            "student_id",
            "checked_in_at",
            "checked_out_at",
            "credited_minutes",
            "corrected",
            "awaiting_confirmation",
        )
    }


def unknown_message(data: dict) -> str:
    if data.get("code"):
        return _("No student on this roster has the code %(code)s.") % {"code": data["code"]}
    return _("This student is not on the roster.")


def scan_message(scan: AttendanceScan, student: Student) -> str:
    values = {"name": student.name, "time": hm(scan.happened_at)}
    if scan.kind == ScanKind.CHECK_IN:
        return _("%(name)s: check-in %(time)s") % values
    return _("%(name)s: check-out %(time)s") % values


def all_present_message(count: int) -> str:
    return _("%(count)s students marked present for the whole session.") % {"count": count}
