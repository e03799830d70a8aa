"""Reads of public notice (公示) and disputes (异议): what a user may see, raise and answer.

Who answers for a record is its organiser (`students.organisers`, from the record's
`organiser_ref`).
"""

from datetime import date

from django.db.models import Q, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone

from portal.models import Role, User

from ..models import (
    Dispute,
    DisputeStatus,
    PracticeRecord,
    RecordStatus,
    Reflection,
    ReflectionStatus,
    School,
    TeacherAssignment,
    TeacherRole,
)
from ..organisers import organiser_scope_q
from ..selectors import NOTHING, record_list_for_user, school_list_for_user

#: Who may raise a dispute (on records of students in their scope).
RAISER_ROLES = (Role.STUDENT, Role.HEAD_TEACHER, Role.SCHOOL_ADMIN)
#: Who sees a school's notice page as a member of the school.
SCHOOL_ROLES = RAISER_ROLES
#: Records shown on a notice page: in notice, or held by a dispute.
NOTICE_STATUSES = (RecordStatus.IN_NOTICE, RecordStatus.DISPUTED)


def user_answers_record(*, user: User, record: PracticeRecord) -> bool:
    return PracticeRecord.objects.filter(organiser_scope_q(user=user), pk=record.pk).exists()


def in_notice(record: PracticeRecord, *, today: date | None = None) -> bool:
    """True while the notice runs: status in notice and its last day not passed."""
    today = today or timezone.localdate()
    return (
        record.status == RecordStatus.IN_NOTICE
        and record.notice_ends_on is not None
        and record.notice_ends_on >= today
    )


def notice_schools_for_user(*, user: User) -> QuerySet[School]:
    """Schools whose notice page the user may open: their own school, or for a coordinator the
    schools with records of their base in notice."""
    if user.role in SCHOOL_ROLES:
        return school_list_for_user(user=user)
    organised = organiser_scope_q(user=user)
    if organised == NOTHING:
        return School.objects.none()
    schools = PracticeRecord.objects.filter(organised, status__in=NOTICE_STATUSES).values(
        "student__school_class__school"
    )
    return (
        School.objects.filter(pk__in=schools)
        .select_related("district")
        .order_by("district__sort_order", "code")
    )


def notice_school_get_for_user(*, user: User, school_id: int) -> School:
    return get_object_or_404(notice_schools_for_user(user=user), pk=school_id)


def notice_records_for_school(*, user: User, school: School) -> QuerySet[PracticeRecord]:
    """The school's records in notice that the user may see there: all of them for the school's
    own users, only their own base's records for a coordinator."""
    records = PracticeRecord.objects.filter(
        student__school_class__school=school, status__in=NOTICE_STATUSES
    )
    if user.role not in SCHOOL_ROLES:
        records = records.filter(organiser_scope_q(user=user))
    return records.select_related("student__school_class", "category").order_by(
        "notice_ends_on", "student__school_class__entry_year", "student__school_class__number",
        "started_at", "pk",
    )  # fmt: skip


def record_get_for_viewer(*, user: User, record_id: int) -> PracticeRecord:
    """A record the user may open in full: one of their students', or one they organised."""
    scope = Q(pk__in=record_list_for_user(user=user).values("pk")) | organiser_scope_q(user=user)
    return get_object_or_404(
        PracticeRecord.objects.filter(scope).select_related(
            "student__school_class__school", "category", "district"
        ),
        pk=record_id,
    )


def may_raise_dispute(*, user: User, record: PracticeRecord, today: date | None = None) -> bool:
    return (
        user.role in RAISER_ROLES
        and in_notice(record, today=today)
        and record_list_for_user(user=user).filter(pk=record.pk).exists()
    )


def raisable_record_ids(*, user: User, record_ids: list[int]) -> set[int]:
    """Of these records, those the user may raise a dispute about (if they are in notice)."""
    if user.role not in RAISER_ROLES or not record_ids:
        return set()
    records = record_list_for_user(user=user).filter(pk__in=record_ids)
    return set(records.values_list("pk", flat=True))


def dispute_list_open_for_answerer(*, user: User) -> QuerySet[Dispute]:
    return (
        Dispute.objects.filter(status=DisputeStatus.OPEN)
        .filter(record__in=PracticeRecord.objects.filter(organiser_scope_q(user=user)))
        .select_related("record__student__school_class__school", "record__category", "raised_by")
        .order_by("raised_at", "pk")
    )


def dispute_get_for_answerer(*, user: User, dispute_id: int) -> Dispute:
    return get_object_or_404(
        Dispute.objects.filter(
            record__in=PracticeRecord.objects.filter(organiser_scope_q(user=user))
        ).select_related("record__student__school_class", "raised_by"),
        pk=dispute_id,
    )


# ------------------------------------------------------------------------------
# Reflections in notice: shown to the student's class, disputed like records
# ------------------------------------------------------------------------------
#: A reflection on a notice page: in notice, or held by a dispute.
REFLECTION_NOTICE_STATUSES = (ReflectionStatus.SHOWN, ReflectionStatus.DISPUTED)


def reflection_in_notice(reflection: Reflection, *, today: date | None = None) -> bool:
    today = today or timezone.localdate()
    return reflection.status in REFLECTION_NOTICE_STATUSES and reflection.notice_ends_on >= today


def _class_scope_q(*, user: User) -> Q:
    """Reflections a user sees on a notice page, as a filter on Reflection: their class's."""
    if user.role == Role.STUDENT:
        return Q(record__student__school_class__students__user=user)
    if user.role == Role.HEAD_TEACHER:
        classes = TeacherAssignment.objects.filter(user=user, role=TeacherRole.HEAD_TEACHER)
        return Q(record__student__school_class__in=classes.values("school_class"))
    if user.role == Role.SCHOOL_ADMIN:
        schools = TeacherAssignment.objects.filter(user=user, role=TeacherRole.SCHOOL_ADMIN)
        return Q(record__student__school_class__school__in=schools.values("school"))
    organised = organiser_scope_q(user=user)
    if organised == NOTHING:
        return NOTHING
    return Q(record__in=PracticeRecord.objects.filter(organised))


def reflections_in_notice_for_user(
    *, user: User, today: date | None = None
) -> QuerySet[Reflection]:
    """Reflections in notice the user sees on notice pages (names masked there)."""
    if not user.is_authenticated or not user.is_active:
        return Reflection.objects.none()
    today = today or timezone.localdate()
    return (
        Reflection.objects.filter(_class_scope_q(user=user))
        .filter(status__in=REFLECTION_NOTICE_STATUSES, notice_ends_on__gte=today)
        .select_related("record__student__school_class", "record__category")
        .prefetch_related("photos")
        .order_by("notice_ends_on", "record__student__school_class__number", "pk")
        .distinct()
    )


def notice_reflections_for_school(*, user: User, school: School) -> QuerySet[Reflection]:
    return reflections_in_notice_for_user(user=user).filter(
        record__student__school_class__school=school
    )


def reflection_get_for_dispute(*, user: User, reflection_id: int) -> Reflection:
    """A reflection in notice the user may object to: shown to them, and not their own."""
    reflection = get_object_or_404(
        reflections_in_notice_for_user(user=user).exclude(record__student__user=user),
        pk=reflection_id,
    )
    if user.role not in RAISER_ROLES:
        raise Http404
    return reflection


def may_dispute_reflection(*, user: User, reflection: Reflection) -> bool:
    return (
        user.role in RAISER_ROLES
        and reflection.record.student.user_id != user.pk
        and reflections_in_notice_for_user(user=user).filter(pk=reflection.pk).exists()
    )
