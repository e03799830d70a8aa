"""Reads of reflections: who may see, write, comment on, mark and dispute one.

The notice side (who sees a reflection in notice, who may object to it) lives with the other
notice rules in `students.disputes.selectors` and is re-exported here.

A reflection is its record's: the student writes it; whoever may open the record in full sees
it (`students.disputes.record_get_for_viewer`). While its notice runs it is also shown, with the
name masked, to the student's class (classmates, head teacher) and the school's admins on the
school's notice page, and to the organiser's coordinators beside their records.
"""

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from portal.models import Role, User

from ..disputes.selectors import (
    REFLECTION_NOTICE_STATUSES,
    may_dispute_reflection,
    notice_reflections_for_school,
    record_get_for_viewer,
    reflection_get_for_dispute,
    reflection_in_notice,
    reflections_in_notice_for_user,
)
from ..models import (
    PracticeRecord,
    Reflection,
    ReflectionPhoto,
    ReflectionStatus,
    Student,
    TeacherAssignment,
    TeacherRole,
)
from ..organisers import organiser_scope_q


def is_head_teacher_of(*, user: User, student: Student) -> bool:
    return (
        user.is_authenticated
        and user.role == Role.HEAD_TEACHER
        and TeacherAssignment.objects.filter(
            user=user, role=TeacherRole.HEAD_TEACHER, school_class_id=student.school_class_id
        ).exists()
    )


def is_author(*, user: User, record: PracticeRecord) -> bool:
    """The record's own student, who alone writes its reflection."""
    return user.is_authenticated and record.student.user_id == user.pk


def may_comment(*, user: User, record: PracticeRecord) -> bool:
    """The student's head teacher, or a coordinator (school admin) of the record's organiser."""
    if is_head_teacher_of(user=user, student=record.student):
        return True
    return PracticeRecord.objects.filter(organiser_scope_q(user=user), pk=record.pk).exists()


def reflection_of(*, record: PracticeRecord) -> Reflection | None:
    """The record's reflection with its photos and comments, or None."""
    return (
        Reflection.objects.filter(record=record)
        .select_related("typical_marked_by")
        .prefetch_related("photos", "comments__author")
        .first()
    )


def reflection_photo_get_for_user(*, user: User, photo_id: int) -> ReflectionPhoto:
    """A photo the user may see: of a record they may open, or of a reflection shown to them in
    notice; anything else is 404. A withdrawn reflection's photos are kept for the record's
    viewers only."""
    photo = get_object_or_404(
        ReflectionPhoto.objects.select_related("reflection__record__student"), pk=photo_id
    )
    if reflections_in_notice_for_user(user=user).filter(pk=photo.reflection_id).exists():
        return photo
    record_get_for_viewer(user=user, record_id=photo.reflection.record_id)  # 404 if not
    return photo


def typical_reflections_of(*, student: Student) -> QuerySet[Reflection]:
    """The student's 典型事例 (not under dispute), oldest record first, with their photos."""
    return (
        Reflection.objects.filter(
            record__student=student, is_typical=True, status=ReflectionStatus.SHOWN
        )
        .select_related("record__category")
        .prefetch_related("photos")
        .order_by("record__started_at", "pk")
    )


__all__ = [
    "REFLECTION_NOTICE_STATUSES",
    "is_author",
    "is_head_teacher_of",
    "may_comment",
    "may_dispute_reflection",
    "notice_reflections_for_school",
    "reflection_get_for_dispute",
    "reflection_in_notice",
    "reflection_of",
    "reflection_photo_get_for_user",
    "reflections_in_notice_for_user",
    "typical_reflections_of",
]
