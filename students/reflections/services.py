"""Writes of reflections: the student's text and photos, comments, and the 典型事例 mark.

The student writes one reflection per record (at most REFLECTION_MAX_CHARS characters) and
attaches at most REFLECTION_MAX_PHOTOS photos, each re-encoded by `portal.uploads.read_image`
(no EXIF, GPS or other metadata) before it reaches here. Every change by the student starts a
new notice period for the reflection. Head teachers and the organiser's coordinators comment;
the head teacher marks a reflection as a typical case (典型事例) and can unmark it. A marked
reflection is locked for the student until it is unmarked. Each write is audited.
"""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.models import User
from portal.services import audit_log_record
from portal.uploads import CleanImage

from ..guardians import student_notification_send
from ..messages import (
    REFLECTION_COMMENTED,
    REFLECTION_TYPICAL,
    REFLECTION_TYPICAL_REMOVED,
    record_label,
    record_url,
)
from ..models import (
    COMMENT_MAX_CHARS,
    REFLECTION_MAX_CHARS,
    REFLECTION_MAX_PHOTOS,
    PracticeRecord,
    RecordStatus,
    Reflection,
    ReflectionComment,
    ReflectionPhoto,
    ReflectionStatus,
)
from ..services import LedgerError, notice_end_for
from .selectors import is_author, is_head_teacher_of, may_comment


class ReflectionError(LedgerError):
    """A refused change to a reflection; `code` says which rule refused it."""


def _check_author(*, record: PracticeRecord, author: User) -> None:
    if not is_author(user=author, record=record):
        raise ReflectionError(
            _("Only the student of this record may write its reflection."), code="not_author"
        )
    if record.status == RecordStatus.REVOKED:
        raise ReflectionError(
            _("This record was revoked; it takes no reflection."), code="record_revoked"
        )


def _check_editable(reflection: Reflection) -> None:
    if reflection.is_typical:
        raise ReflectionError(
            _(
                "Your head teacher marked this reflection as a typical case; it can be changed "
                "only after they unmark it."
            ),
            code="typical_locked",
        )
    if reflection.status == ReflectionStatus.DISPUTED:
        raise ReflectionError(
            _("A dispute about this reflection waits for an answer; change it afterwards."),
            code="disputed",
        )
    if reflection.status == ReflectionStatus.WITHDRAWN:
        raise ReflectionError(
            _("This reflection was withdrawn after a dispute and cannot be changed."),
            code="withdrawn",
        )


def clean_reflection_text(text: str) -> str:
    """The text stripped, refused when empty or longer than REFLECTION_MAX_CHARS characters."""
    text = (text or "").strip().replace("\r\n", "\n")
    if not text:
        raise ReflectionError(_("Write your reflection before saving it."), code="empty")
    if len(text) > REFLECTION_MAX_CHARS:
        raise ReflectionError(
            _(
                "The reflection has %(count)s characters; at most %(max)s are allowed. "
                "Shorten it by %(over)s."
            )
            % {
                "count": len(text),
                "max": REFLECTION_MAX_CHARS,
                "over": len(text) - REFLECTION_MAX_CHARS,
            },
            code="too_long",
        )
    return text


def _lock(record: PracticeRecord) -> PracticeRecord:
    return (
        PracticeRecord.objects.select_for_update(of=("self",))
        .select_related("student__school_class", "student__user")
        .get(pk=record.pk)
    )


def _restart_notice(reflection: Reflection) -> None:
    reflection.notice_ends_on = notice_end_for(student=reflection.record.student)


@transaction.atomic
def reflection_save(*, record: PracticeRecord, author: User, text: str) -> Reflection:
    """Write or rewrite the student's reflection on a record; it goes (back) into notice."""
    text = clean_reflection_text(text)
    record = _lock(record)
    _check_author(record=record, author=author)
    reflection = Reflection.objects.select_for_update().filter(record=record).first()
    created = reflection is None
    if created:
        reflection = Reflection(record=record)
    else:
        _check_editable(reflection)
        reflection.record = record
    reflection.text = text
    _restart_notice(reflection)
    reflection.save()
    audit_log_record(
        actor=author,
        action="reflection.create" if created else "reflection.change",
        target=reflection,
        data={"record": record.pk, "characters": len(text)},
    )
    return reflection


@transaction.atomic
def reflection_photo_add(
    *, record: PracticeRecord, author: User, image: CleanImage
) -> ReflectionPhoto:
    """Attach one re-encoded photo to the record's reflection (written first), at most three."""
    record = _lock(record)
    _check_author(record=record, author=author)
    reflection = Reflection.objects.select_for_update().filter(record=record).first()
    if reflection is None:
        raise ReflectionError(
            _("Write your reflection first, then add photos to it."), code="no_reflection"
        )
    reflection.record = record
    _check_editable(reflection)
    used = set(reflection.photos.values_list("position", flat=True))
    if len(used) >= REFLECTION_MAX_PHOTOS:
        raise ReflectionError(
            _("A reflection takes at most %(max)s photos; remove one before adding another.")
            % {"max": REFLECTION_MAX_PHOTOS},
            code="too_many_photos",
        )
    position = min(p for p in range(1, REFLECTION_MAX_PHOTOS + 1) if p not in used)
    photo = ReflectionPhoto(reflection=reflection, position=position)
    upload = image.as_file()
    photo.image.save(upload.name, upload, save=False)
    try:
        photo.save()
        _restart_notice(reflection)
        reflection.save(update_fields=["notice_ends_on", "updated_at"])
        audit_log_record(
            actor=author,
            action="reflection.photo_add",
            target=reflection,
            data={"record": record.pk, "photo": photo.pk, "position": position},
        )
    except BaseException:
        # The file is written before the row; nothing of a refused photo stays on disk.
        photo.image.storage.delete(photo.image.name)
        raise
    return photo


@transaction.atomic
def reflection_photo_remove(*, photo: ReflectionPhoto, author: User) -> None:
    """Take a photo off the reflection; its file is deleted once the change commits."""
    record = _lock(photo.reflection.record)
    _check_author(record=record, author=author)
    reflection = Reflection.objects.select_for_update().get(pk=photo.reflection_id)
    reflection.record = record
    _check_editable(reflection)
    name, storage = photo.image.name, photo.image.storage
    photo.delete()
    _restart_notice(reflection)
    reflection.save(update_fields=["notice_ends_on", "updated_at"])
    audit_log_record(
        actor=author,
        action="reflection.photo_remove",
        target=reflection,
        data={"record": record.pk, "position": photo.position},
    )
    transaction.on_commit(lambda: storage.delete(name))


def clean_comment_text(text: str) -> str:
    text = (text or "").strip()
    if not text:
        raise ReflectionError(_("Write your comment before sending it."), code="empty")
    if len(text) > COMMENT_MAX_CHARS:
        raise ReflectionError(
            _("The comment has %(count)s characters; at most %(max)s are allowed.")
            % {"count": len(text), "max": COMMENT_MAX_CHARS},
            code="too_long",
        )
    return text


@transaction.atomic
def reflection_comment_add(*, reflection: Reflection, author: User, text: str) -> ReflectionComment:
    """A comment by the head teacher or the organiser's coordinator; the student is told."""
    text = clean_comment_text(text)
    record = _lock(reflection.record)
    if not may_comment(user=author, record=record):
        raise ReflectionError(
            _("Only the student's head teacher or the organiser may comment on a reflection."),
            code="not_allowed",
        )
    comment = ReflectionComment.objects.create(reflection=reflection, author=author, text=text)
    audit_log_record(
        actor=author,
        action="reflection.comment",
        target=reflection,
        data={"record": record.pk, "comment": comment.pk, "text": text},
    )
    student_notification_send(
        student=record.student,
        message=REFLECTION_COMMENTED,
        params={"who": author.get_full_name(), "record": record_label(record), "text": text},
        url=record_url(record),
    )
    return comment


def _lock_for_head_teacher(
    *, reflection: Reflection, user: User
) -> tuple[Reflection, PracticeRecord]:
    record = _lock(reflection.record)
    reflection = Reflection.objects.select_for_update().get(pk=reflection.pk)
    reflection.record = record
    if not is_head_teacher_of(user=user, student=record.student):
        raise ReflectionError(
            _("Only the student's head teacher may mark a typical case."), code="not_allowed"
        )
    return reflection, record


def _tell(record: PracticeRecord, message) -> None:
    student_notification_send(
        student=record.student,
        message=message,
        params={"record": record_label(record)},
        url=record_url(record),
    )


@transaction.atomic
def reflection_typical_mark(*, reflection: Reflection, marked_by: User) -> Reflection:
    """The head teacher marks the reflection as a 典型事例; the student is told."""
    reflection, record = _lock_for_head_teacher(reflection=reflection, user=marked_by)
    if reflection.status != ReflectionStatus.SHOWN:
        raise ReflectionError(
            _("A disputed or withdrawn reflection cannot be marked as a typical case."),
            code="not_shown",
        )
    if reflection.is_typical:
        return reflection
    reflection.is_typical = True
    reflection.typical_marked_by = marked_by
    reflection.typical_marked_at = timezone.now()
    reflection.save(
        update_fields=["is_typical", "typical_marked_by", "typical_marked_at", "updated_at"]
    )
    audit_log_record(
        actor=marked_by,
        action="reflection.typical_mark",
        target=reflection,
        data={"record": record.pk},
    )
    _tell(record, REFLECTION_TYPICAL)
    return reflection


@transaction.atomic
def reflection_typical_unmark(*, reflection: Reflection, unmarked_by: User) -> Reflection:
    """The head teacher takes the 典型事例 mark off; the student may change the text again."""
    reflection, record = _lock_for_head_teacher(reflection=reflection, user=unmarked_by)
    if not reflection.is_typical:
        return reflection
    reflection.is_typical = False
    reflection.typical_marked_by = None
    reflection.typical_marked_at = None
    reflection.save(
        update_fields=["is_typical", "typical_marked_by", "typical_marked_at", "updated_at"]
    )
    audit_log_record(
        actor=unmarked_by,
        action="reflection.typical_unmark",
        target=reflection,
        data={"record": record.pk},
    )
    _tell(record, REFLECTION_TYPICAL_REMOVED)
    return reflection
