"""Reads of schools, classes, students and the ledger, each scoped to the user asking."""

from dataclasses import dataclass
from datetime import date

from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone

from portal.models import Role, User

from .charts import last_months, month_charts
from .models import (
    Category,
    Guardianship,
    PracticeRecord,
    RecordStatus,
    RequirementPolicy,
    School,
    SchoolClass,
    Student,
    TeacherAssignment,
    TeacherRole,
)
from .policies import policy_for_entry_year
from .progress import (
    Tally,
    credit_hours,
    credit_hours_parts,
    progress_for_students,
    progress_from_records,
    school_year_label,
    school_year_of,
)

NOTHING = Q(pk__in=[])
DEFAULT_ATTENDANCE_DEADLINE_HOURS = 24


def school_scope_q(*, user: User, prefix: str = "") -> Q:
    """Schools a user may see, as a filter on `<prefix>` pointing at School."""
    if user.role == Role.CITY_ADMIN:
        return Q()
    if user.role == Role.DISTRICT_ADMIN:
        return Q(**{f"{prefix}district__admins__user": user})
    if user.role in (Role.SCHOOL_ADMIN, Role.HEAD_TEACHER):
        return Q(
            **{f"{prefix}pk__in": TeacherAssignment.objects.filter(user=user).values("school")}
        )
    if user.role == Role.STUDENT:
        return Q(**{f"{prefix}classes__students__user": user})
    return NOTHING


def school_class_scope_q(*, user: User, prefix: str = "") -> Q:
    """Classes a user may see, as a filter on `<prefix>` pointing at SchoolClass."""
    if user.role == Role.CITY_ADMIN:
        return Q()
    if user.role == Role.DISTRICT_ADMIN:
        return Q(**{f"{prefix}school__district__admins__user": user})
    if user.role == Role.SCHOOL_ADMIN:
        schools = TeacherAssignment.objects.filter(user=user, role=TeacherRole.SCHOOL_ADMIN)
        return Q(**{f"{prefix}school__in": schools.values("school")})
    if user.role == Role.HEAD_TEACHER:
        classes = TeacherAssignment.objects.filter(user=user, role=TeacherRole.HEAD_TEACHER)
        return Q(**{f"{prefix}pk__in": classes.values("school_class")})
    if user.role == Role.STUDENT:
        return Q(**{f"{prefix}students__user": user})
    return NOTHING


def student_scope_q(*, user: User, prefix: str = "") -> Q:
    """Students a user may see, as a filter on `<prefix>` pointing at Student."""
    if user.role == Role.STUDENT:
        return Q(**{f"{prefix}user": user})
    if user.role == Role.CITY_ADMIN:
        return Q()
    if user.role == Role.GUARDIAN:
        children = Guardianship.objects.filter(guardian=user, ended_at__isnull=True)
        return Q(**{f"{prefix}pk__in": children.values("student_id")})
    if user.role in (Role.DISTRICT_ADMIN, Role.SCHOOL_ADMIN, Role.HEAD_TEACHER):
        return school_class_scope_q(user=user, prefix=f"{prefix}school_class__")
    return NOTHING


def school_list_for_user(*, user: User) -> QuerySet[School]:
    return (
        School.objects.filter(school_scope_q(user=user))
        .select_related("district")
        .distinct()
        .order_by("district__sort_order", "code")
    )


def school_get_for_user(*, user: User, school_id: int) -> School:
    return get_object_or_404(school_list_for_user(user=user), pk=school_id)


def school_class_list_for_user(*, user: User) -> QuerySet[SchoolClass]:
    return (
        SchoolClass.objects.filter(school_class_scope_q(user=user))
        .select_related("school__district")
        .order_by("school__code", "-entry_year", "number")
    )


def school_class_get_for_user(*, user: User, school_class_id: int) -> SchoolClass:
    return get_object_or_404(school_class_list_for_user(user=user), pk=school_class_id)


def student_list_for_user(*, user: User) -> QuerySet[Student]:
    return (
        Student.objects.filter(student_scope_q(user=user))
        .select_related("school_class__school__district")
        .order_by("school_class__school__code", "school_class__entry_year", "student_number")
    )


def student_get_for_user(*, user: User, student_id: int) -> Student:
    return get_object_or_404(student_list_for_user(user=user), pk=student_id)


def record_list_for_user(*, user: User) -> QuerySet[PracticeRecord]:
    return (
        PracticeRecord.objects.filter(student_scope_q(user=user, prefix="student__"))
        .select_related("student__school_class__school", "category")
        .order_by("-started_at", "-id")
    )


def record_list_held_for_user(*, user: User) -> QuerySet[PracticeRecord]:
    """Records of the user's students with minutes held for review, oldest first."""
    return (
        record_list_for_user(user=user)
        .filter(held_minutes__gt=0)
        .exclude(status=RecordStatus.REVOKED)
        .select_related("student__school_class__school")
        .order_by("started_at", "id")
    )


def record_get_for_user(*, user: User, record_id: int) -> PracticeRecord:
    return get_object_or_404(record_list_for_user(user=user), pk=record_id)


def student_of_user(*, user: User) -> Student | None:
    return (
        Student.objects.select_related("school_class__school__district").filter(user=user).first()
    )


def teacher_assignments_of_user(*, user: User) -> QuerySet[TeacherAssignment]:
    return TeacherAssignment.objects.filter(user=user).select_related(
        "school__district", "school_class__school"
    )


def volunteer_minutes_by_student(*, student_ids: list[int]) -> dict[int, int]:
    """Credited volunteer-service minutes per student (in-notice and final records)."""
    progress = progress_for_students(student_ids)
    return {
        student_id: progress[student_id].volunteer_minutes if student_id in progress else 0
        for student_id in student_ids
    }


def attendance_deadline_hours() -> int:
    """Hours after a session's end within which attendance should be recorded; 24 without policy.

    A session is one deadline for all its students, whatever their entry years, so the
    deadline is that of the policy in force for the newest entry year at school today (the
    students who entered this school year): the current policy, under the one rule of
    `students.policies`.
    """
    try:
        policy = policy_for_entry_year(entry_year=school_year_of(timezone.localdate()))
    except RequirementPolicy.DoesNotExist:
        return DEFAULT_ATTENDANCE_DEADLINE_HOURS
    return policy.attendance_deadline_hours


@dataclass(frozen=True)
class ScanLimits:
    """How close two scans of one student may come, and the shortest stay without a question."""

    repeat_seconds: int
    minimum_checkout_minutes: int
    deadline_hours: int


def attendance_scan_limits() -> ScanLimits:
    """The attendance limits of the current policy (the one `attendance_deadline_hours` reads),
    or the defaults without a policy: read once for a page that needs several."""
    try:
        policy = policy_for_entry_year(entry_year=school_year_of(timezone.localdate()))
    except RequirementPolicy.DoesNotExist:
        policy = RequirementPolicy(attendance_deadline_hours=DEFAULT_ATTENDANCE_DEADLINE_HOURS)
    return ScanLimits(
        repeat_seconds=policy.scan_repeat_seconds,
        minimum_checkout_minutes=policy.minimum_checkout_minutes,
        deadline_hours=policy.attendance_deadline_hours,
    )


def student_records(*, student: Student) -> QuerySet[PracticeRecord]:
    """All of a student's records, newest first, with their category."""
    return (
        PracticeRecord.objects.filter(student=student)
        .select_related("category")
        .order_by("-started_at", "-id")
    )


def progress_context(
    *, student: Student, records: QuerySet[PracticeRecord] | None = None, today: date | None = None
) -> dict:
    """What the progress partials show, in three queries: records, policies, categories.

    `records` (all of the student's, with their category) may carry annotations for the page.
    """
    today = today or timezone.localdate()
    records = list(student_records(student=student) if records is None else records)
    progress = progress_from_records(student=student, records=records, today=today)
    per_hour = progress.minutes_per_credit_hour
    categories = [
        {
            "category": category,
            "tally": progress.category(category.pk),
            "hours": credit_hours(progress.category(category.pk).volunteer_minutes, per_hour),
        }
        for category in Category.objects.order_by("sort_order", "code")
    ]
    first_year = student.school_class.entry_year
    months = last_months(today)
    year_keys = sorted({first_year, first_year + 1, first_year + 2, *progress.by_school_year})
    year_hours = credit_hours_parts(
        [progress.by_school_year.get(year, Tally()).volunteer_minutes for year in year_keys],
        per_hour,
    )
    years = [
        {
            "label": school_year_label(year),
            "grade": year - first_year + 1,
            "tally": progress.by_school_year.get(year, Tally()),
            "hours": hours,
        }
        for year, hours in zip(year_keys, year_hours, strict=True)
    ]
    days_chart, hours_chart = month_charts(progress, today)
    return {
        "progress": progress,
        "category_rows": categories,
        "year_rows": years,
        "chart_from": date(months[0][0], months[0][1] + 1, 1),
        "chart_until": today,
        "days_chart": days_chart,
        "hours_chart": hours_chart,
        "records": records,
    }


STUDENT_SEARCH_LIMIT = 20


def student_search_in_school(*, school, text: str) -> list:
    """Students of the school whose name contains `text` or whose 学籍号 is `text` (exactly),
    at most STUDENT_SEARCH_LIMIT, with their class."""
    text = text.strip()
    if not text:
        return []
    return list(
        Student.objects.filter(school_class__school=school)
        .filter(Q(name__icontains=text) | Q(student_number=text.upper()))
        .select_related("school_class")
        .order_by("school_class__entry_year", "school_class__number", "name")[:STUDENT_SEARCH_LIMIT]
    )
