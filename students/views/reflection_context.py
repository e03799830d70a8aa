"""What the record page shows of the record's reflection, and the forms the user may use."""

from django.http import HttpRequest

from ..forms import ReflectionCommentForm, ReflectionForm, ReflectionPhotoForm
from ..models import (
    REFLECTION_MAX_CHARS,
    REFLECTION_MAX_PHOTOS,
    PracticeRecord,
    RecordStatus,
    ReflectionStatus,
)
from ..reflections import (
    is_author,
    is_head_teacher_of,
    may_comment,
    reflection_in_notice,
    reflection_of,
)


def _editable(reflection) -> bool:
    return reflection is None or (
        reflection.status == ReflectionStatus.SHOWN and not reflection.is_typical
    )


def reflection_context(request: HttpRequest, record: PracticeRecord, *, forms: dict) -> dict:
    user = request.user
    reflection = reflection_of(record=record)
    photos = list(reflection.photos.all()) if reflection else []
    author = is_author(user=user, record=record) and record.status != RecordStatus.REVOKED
    editable = author and _editable(reflection)
    context = {
        "reflection": reflection,
        "reflection_photos": photos,
        "reflection_comments": list(reflection.comments.all()) if reflection else [],
        "reflection_in_notice": reflection is not None and reflection_in_notice(reflection),
        "reflection_is_author": author,
        "reflection_max_chars": REFLECTION_MAX_CHARS,
        "reflection_form": None,
        "photo_form": None,
        "comment_form": None,
        "may_mark_typical": False,
        "may_remove_photos": editable and bool(photos),
    }
    if editable:
        initial = {"text": reflection.text} if reflection else {}
        context["reflection_form"] = forms.get("reflection") or ReflectionForm(initial=initial)
        if forms.get("photo") is not None:  # a refused upload shows why, even when full
            context["photo_form"] = forms["photo"]
        elif reflection is not None and len(photos) < REFLECTION_MAX_PHOTOS:
            context["photo_form"] = ReflectionPhotoForm()
    if reflection is not None and may_comment(user=user, record=record):
        context["comment_form"] = forms.get("comment") or ReflectionCommentForm()
    if reflection is not None and is_head_teacher_of(user=user, student=record.student):
        context["may_mark_typical"] = (
            reflection.status == ReflectionStatus.SHOWN or reflection.is_typical
        )
    return context
