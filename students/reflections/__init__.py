"""Reflections (感悟) on ledger records and 典型事例: reads in `selectors`, writes in `services`;
disputes about a reflection live with the other disputes (`students.disputes`)."""

from .selectors import (
    is_author,
    is_head_teacher_of,
    may_comment,
    may_dispute_reflection,
    notice_reflections_for_school,
    reflection_get_for_dispute,
    reflection_in_notice,
    reflection_of,
    reflection_photo_get_for_user,
    reflections_in_notice_for_user,
    typical_reflections_of,
)
from .services import (
    ReflectionError,
    clean_reflection_text,
    reflection_comment_add,
    reflection_photo_add,
    reflection_photo_remove,
    reflection_save,
    reflection_typical_mark,
    reflection_typical_unmark,
)

__all__ = [
    "ReflectionError",
    "clean_reflection_text",
    "is_author",
    "is_head_teacher_of",
    "may_comment",
    "may_dispute_reflection",
    "notice_reflections_for_school",
    "reflection_comment_add",
    "reflection_get_for_dispute",
    "reflection_in_notice",
    "reflection_of",
    "reflection_photo_add",
    "reflection_photo_get_for_user",
    "reflection_photo_remove",
    "reflection_save",
    "reflection_typical_mark",
    "reflection_typical_unmark",
    "reflections_in_notice_for_user",
    "typical_reflections_of",
]
