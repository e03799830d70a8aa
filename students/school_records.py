"""Activities a school organises for a whole class (学农, 军训), entered by its school admin.

Each student of the class gets one ledger record per date of the activity, through
`practice_record_upsert`, keyed `school:<entry key>:<student id>:<date>`. The entry key is a digest
of what was entered, so entering the same activity again adds nothing, and a changed entry is a
new one. The entry is all or nothing: if any student already has a record at one of those times,
nothing is saved and the error names every such student and their other record.
"""

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.models import User

from .models import (
    Category,
    OrganiserLevel,
    RecordedVia,
    SchoolClass,
    Student,
    TeacherAssignment,
    TeacherRole,
)
from .organisers import SCHOOL, organiser_ref
from .services import LedgerError, RecordFacts, practice_record_upsert

SCHOOL_SOURCE_PREFIX = "school:"
#: The longest activity one entry may cover (军训 and 学农 last one or two weeks).
MAX_ACTIVITY_DAYS = 31
#: How many refused students the error names before "and N more".
MAX_NAMED_CONFLICTS = 10


@dataclass(frozen=True)
class SchoolActivity:
    """What a school admin enters: one activity, the same hours on each of its dates."""

    category: Category
    title: str
    organiser_name: str
    first_day: date
    last_day: date
    daily_start: time
    daily_end: time
    minutes_per_day: int

    @property
    def dates(self) -> list[date]:
        return [
            self.first_day + timedelta(days=n)
            for n in range((self.last_day - self.first_day).days + 1)
        ]


@dataclass(frozen=True)
class SchoolActivityResult:
    entry_key: str
    students: int
    days: int
    created: int
    existing: int


def school_activity_key(*, school_class: SchoolClass, activity: SchoolActivity) -> str:
    """A stable digest of an entry: the same class and the same facts give the same key."""
    payload = json.dumps(
        [
            school_class.pk,
            activity.category.code,
            activity.title,
            activity.organiser_name,
            activity.first_day.isoformat(),
            activity.last_day.isoformat(),
            activity.daily_start.strftime("%H:%M"),
            activity.daily_end.strftime("%H:%M"),
            activity.minutes_per_day,
        ],
        ensure_ascii=False,
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def school_record_source_ref(*, entry_key: str, student: Student, day: date) -> str:
    return f"{SCHOOL_SOURCE_PREFIX}{entry_key}:{student.pk}:{day.isoformat()}"


def _check_activity(activity: SchoolActivity, *, now: datetime) -> None:
    if not activity.title.strip():
        raise LedgerError(_("Name the activity."), code="title_required")
    if activity.last_day < activity.first_day:
        raise LedgerError(
            _("The last day cannot come before the first day."), code="days_out_of_order"
        )
    if len(activity.dates) > MAX_ACTIVITY_DAYS:
        raise LedgerError(
            _("One entry covers at most %(max)s days; enter longer activities in parts."),
            code="too_many_days",
            params={"max": MAX_ACTIVITY_DAYS},
        )
    if activity.daily_end <= activity.daily_start:
        raise LedgerError(_("Each day must end after it starts."), code="ends_before_start")
    daily = (
        datetime.combine(date.min, activity.daily_end)
        - datetime.combine(date.min, activity.daily_start)
    ).seconds // 60
    if not 0 < activity.minutes_per_day <= daily:
        raise LedgerError(
            _("Credited minutes per day must lie between 1 and the daily duration (%(max)s)."),
            code="credit_out_of_range",
            params={"max": daily},
        )
    if timezone.make_aware(datetime.combine(activity.last_day, activity.daily_end)) > now:
        raise LedgerError(
            _("An activity can be recorded only after it has taken place."), code="in_future"
        )


def _check_school_admin(*, user: User, school_class: SchoolClass) -> None:
    if not TeacherAssignment.objects.filter(
        user=user, school_id=school_class.school_id, role=TeacherRole.SCHOOL_ADMIN
    ).exists():
        raise LedgerError(
            _("Only the school's admin may record activities for its classes."),
            code="not_allowed",
        )


@transaction.atomic
def school_activity_record(
    *, school_class: SchoolClass, activity: SchoolActivity, recorded_by: User
) -> SchoolActivityResult:
    """Record the activity for every student of the class, one record per date, or nothing."""
    _check_school_admin(user=recorded_by, school_class=school_class)
    _check_activity(activity, now=timezone.now())
    students = list(
        Student.objects.filter(school_class=school_class)
        .select_related("school_class__school__district")
        .order_by("student_number")
    )
    if not students:
        raise LedgerError(_("This class has no students yet."), code="empty_class")
    school = school_class.school
    key = school_activity_key(school_class=school_class, activity=activity)
    created = existing = 0
    conflicts: list[str] = []
    codes: set[str] = set()
    for student in students:
        for day in activity.dates:
            started_at = timezone.make_aware(datetime.combine(day, activity.daily_start))
            facts = RecordFacts(
                student=student,
                category=activity.category,
                title=activity.title,
                organiser_name=activity.organiser_name or school.name,
                organiser_level=OrganiserLevel.SCHOOL_OWN,
                district=school.district,
                started_at=started_at,
                ended_at=timezone.make_aware(datetime.combine(day, activity.daily_end)),
                credited_minutes=activity.minutes_per_day,
                recorded_via=RecordedVia.SCHOOL,
                organiser_ref=organiser_ref(SCHOOL, school.pk),
            )
            try:
                # A savepoint per record, so every conflict is found before rolling back all.
                with transaction.atomic():
                    _record, was_created = practice_record_upsert(
                        source_ref=school_record_source_ref(
                            entry_key=key, student=student, day=day
                        ),
                        facts=facts,
                        recorded_by=recorded_by,
                    )
            except LedgerError as error:
                conflicts.append(error.messages[0])
                codes.add(error.code)
                # One message per student is enough to act on.
                break
            created += was_created
            existing += not was_created
    if conflicts:
        named = "；".join(conflicts[:MAX_NAMED_CONFLICTS])
        if len(conflicts) > MAX_NAMED_CONFLICTS:
            named += _("; and %(count)s more students.") % {
                "count": len(conflicts) - MAX_NAMED_CONFLICTS
            }
        raise LedgerError(
            _("Nothing was saved: %(count)s students cannot take this activity. %(details)s"),
            code="overlap" if codes == {"overlap"} else sorted(codes)[0],
            params={"count": len(conflicts), "details": named},
        )
    return SchoolActivityResult(
        entry_key=key,
        students=len(students),
        days=len(activity.dates),
        created=created,
        existing=existing,
    )
