"""What a checked export adds: each row new, already imported, or overlapping a record the
student has (or an earlier row of the same file). Pure reading: a handful of queries."""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from django.utils import timezone
from django.utils.formats import date_format

from portal.sheet_problems import RowError

from ..messages import (
    PLATFORM_DUPLICATE_ID,
    PLATFORM_ID_CONFLICT,
    PLATFORM_NOT_YOURS,
    PLATFORM_UNKNOWN_STUDENT,
    PLATFORM_UNKNOWN_VOLUNTEER,
)
from ..models import PlatformRecord, PracticeRecord, RecordStatus, School, Student
from .reading import PlatformRow

NEW, ALREADY, OVERLAP = "new", "already", "overlap"


@dataclass
class PlannedRow:
    row: PlatformRow
    student: Student
    outcome: str
    overlaps: str = ""  # the other record as people read it

    def as_json(self) -> dict:
        row = self.row
        return {
            "row": row.number,
            "record_id": row.record_id,
            "student_number": self.student.student_number,
            "name": self.student.name,
            "activity": row.activity,
            "organiser": row.organiser,
            "started_at": timezone.localtime(row.started_at).strftime("%Y-%m-%d %H:%M"),
            "ended_at": timezone.localtime(row.ended_at).strftime("%Y-%m-%d %H:%M"),
            "minutes": row.minutes,
            "start_assumed": row.start_assumed,
            "outcome": self.outcome,
            "overlaps": self.overlaps,
            # The checked row itself, for the confirmation (`row_from_json`).
            "volunteer_number": row.volunteer_number,
            "from": row.started_at.isoformat(),
            "to": row.ended_at.isoformat(),
        }


def row_from_json(found: dict) -> PlatformRow:
    """A row checked by the preview, as `PlannedRow.as_json` kept it."""
    return PlatformRow(
        number=found["row"],
        record_id=found["record_id"],
        student_number=found["student_number"],
        volunteer_number=found["volunteer_number"],
        name=found["name"],
        activity=found["activity"],
        organiser=found["organiser"],
        started_at=datetime.fromisoformat(found["from"]),
        ended_at=datetime.fromisoformat(found["to"]),
        minutes=found["minutes"],
        start_assumed=found["start_assumed"],
    )


@dataclass
class PlatformPlan:
    errors: list[RowError] = field(default_factory=list)
    rows: list[PlannedRow] = field(default_factory=list)

    @property
    def summary(self) -> dict:
        counts = {NEW: 0, ALREADY: 0, OVERLAP: 0}
        for planned in self.rows:
            counts[planned.outcome] += 1
        return {"new": counts[NEW], "already": counts[ALREADY], "overlap": counts[OVERLAP]}


def _label(title: str, started_at, ended_at) -> str:
    start, end = timezone.localtime(started_at), timezone.localtime(ended_at)
    same_day = start.date() == end.date()
    return "{} {}–{}".format(
        title,
        date_format(start, "Y-m-d H:i"),
        date_format(end, "H:i" if same_day else "Y-m-d H:i"),
    )


def platform_plan(
    *, school: School, platform: str, rows: list[PlatformRow], student: Student | None = None
) -> PlatformPlan:
    """Every row's problems, or what each row does. `student`: a student's own upload."""
    plan = PlatformPlan()
    for row in rows:
        plan.errors.extend(row.errors)
    good = [row for row in rows if not row.errors]
    numbers = {row.student_number for row in good if row.student_number}
    by_number = {
        s.student_number: s
        for s in Student.objects.filter(
            student_number__in=numbers, school_class__school=school
        ).select_related("school_class", "user")
    }
    volunteers = {row.volunteer_number for row in good if row.volunteer_number}
    by_volunteer = {}
    if volunteers:
        known = PlatformRecord.objects.filter(
            platform=platform,
            volunteer_number__in=volunteers,
            student__school_class__school=school,
        ).select_related("student__school_class", "student__user")
        by_volunteer = {item.volunteer_number: item.student for item in known}
    earlier = {
        item.original_id: item
        for item in PlatformRecord.objects.filter(
            platform=platform, original_id__in=[row.record_id for row in good]
        )
    }

    seen: dict[str, int] = {}
    resolved: list[tuple[PlatformRow, Student]] = []
    for row in good:

        def bad(column: str, message, value: str, row=row) -> None:
            code = message.kind.code.split(".", 1)[-1]
            plan.errors.append(RowError(row.number, column, code, message, value))

        first = seen.setdefault(row.record_id, row.number)
        if first != row.number:
            bad("record_id", PLATFORM_DUPLICATE_ID(row=first), row.record_id)
            continue
        found = by_number.get(row.student_number) if row.student_number else None
        if row.student_number and found is None:
            if student is not None and row.student_number != student.student_number:
                bad("student_number", PLATFORM_NOT_YOURS(), row.student_number)
            else:
                bad("student_number", PLATFORM_UNKNOWN_STUDENT(), row.student_number)
            continue
        if found is None:
            found = by_volunteer.get(row.volunteer_number)
            if found is None:
                bad("volunteer_number", PLATFORM_UNKNOWN_VOLUNTEER(), row.volunteer_number)
                continue
        if student is not None and found.pk != student.pk:
            bad("student_number", PLATFORM_NOT_YOURS(), row.student_number)
            continue
        item = earlier.get(row.record_id)
        if item is not None and (
            item.student_id != found.pk
            or item.started_at != row.started_at
            or item.ended_at != row.ended_at
            or item.minutes != row.minutes
        ):
            bad("record_id", PLATFORM_ID_CONFLICT(), row.record_id)
            continue
        resolved.append((row, found))
    if plan.errors:
        return plan

    # Live records of these students over the file's span, to find overlaps in memory.
    taken: dict[int, list[tuple]] = defaultdict(list)
    fresh = [(row, s) for row, s in resolved if row.record_id not in earlier]
    if fresh:
        first = min(row.started_at for row, _s in fresh)
        last = max(row.ended_at for row, _s in fresh)
        for record in (
            PracticeRecord.objects.filter(
                student__in={s.pk for _r, s in fresh}, started_at__lt=last, ended_at__gt=first
            )
            .exclude(status=RecordStatus.REVOKED)
            .only("student_id", "title", "started_at", "ended_at")
        ):
            taken[record.student_id].append((record.started_at, record.ended_at, record.title))
    for row, found in resolved:
        if row.record_id in earlier:
            plan.rows.append(PlannedRow(row, found, ALREADY))
            continue
        other = next(
            (t for t in taken[found.pk] if t[0] < row.ended_at and t[1] > row.started_at), None
        )
        if other is not None:
            plan.rows.append(PlannedRow(row, found, OVERLAP, _label(other[2], other[0], other[1])))
            continue
        taken[found.pk].append((row.started_at, row.ended_at, row.activity))
        plan.rows.append(PlannedRow(row, found, NEW))
    return plan
