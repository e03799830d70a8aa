"""A student's reflection (感悟) on one record, its photos, comments on it, and 典型事例."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .ledger import PracticeRecord

#: Characters (not bytes) a reflection may hold.
REFLECTION_MAX_CHARS = 800
#: Photos a reflection may carry.
REFLECTION_MAX_PHOTOS = 3
COMMENT_MAX_CHARS = 500


class ReflectionStatus(models.TextChoices):
    SHOWN = "shown", _("Shown")
    DISPUTED = "disputed", _("Disputed")
    WITHDRAWN = "withdrawn", _("Withdrawn after a dispute")


class Reflection(models.Model):
    """What the student says about one record; in public notice like the record itself."""

    record = models.OneToOneField(
        PracticeRecord,
        verbose_name=_("record"),
        on_delete=models.CASCADE,
        related_name="reflection",
    )
    text = models.CharField(_("reflection"), max_length=REFLECTION_MAX_CHARS)
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=ReflectionStatus.choices,
        default=ReflectionStatus.SHOWN,
    )
    # Each change by the student starts a new notice period (the policy's notice days).
    notice_ends_on = models.DateField(_("notice ends on"))
    is_typical = models.BooleanField(_("typical case (典型事例)"), default=False)
    typical_marked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("marked typical by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    typical_marked_at = models.DateTimeField(_("marked typical at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("reflection")
        verbose_name_plural = _("reflections")
        ordering = ["-updated_at", "-id"]
        indexes = [models.Index(fields=["status", "notice_ends_on"])]
        constraints = [
            models.CheckConstraint(condition=~Q(text=""), name="reflection_text_not_empty"),
            models.CheckConstraint(
                condition=Q(status__in=ReflectionStatus.values), name="reflection_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(is_typical=False) | ~Q(status=ReflectionStatus.WITHDRAWN),
                name="reflection_withdrawn_not_typical",
            ),
            models.CheckConstraint(
                condition=Q(is_typical=False) | Q(typical_marked_at__isnull=False),
                name="reflection_typical_has_time",
            ),
        ]

    def __str__(self):
        return f"{self.record_id}: {self.text[:30]}"


class ReflectionPhoto(models.Model):
    """One photo of a reflection, re-encoded on upload (no EXIF or GPS), served only to those
    who may see the reflection."""

    reflection = models.ForeignKey(
        Reflection, verbose_name=_("reflection"), on_delete=models.CASCADE, related_name="photos"
    )
    position = models.PositiveSmallIntegerField(_("position"))
    image = models.ImageField(
        _("photo"), upload_to="reflections/", width_field="width", height_field="height"
    )
    width = models.PositiveIntegerField(_("width"), default=0)
    height = models.PositiveIntegerField(_("height"), default=0)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("reflection photo")
        verbose_name_plural = _("reflection photos")
        ordering = ["reflection", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["reflection", "position"], name="reflection_photo_position_unique"
            ),
            # Positions 1 to 3: a fourth photo has nowhere to go, whatever raced it.
            models.CheckConstraint(
                condition=Q(position__gte=1) & Q(position__lte=REFLECTION_MAX_PHOTOS),
                name="reflection_at_most_three_photos",
            ),
        ]

    def __str__(self):
        return f"{self.reflection_id} #{self.position}"


class ReflectionComment(models.Model):
    """A word from the head teacher or the organiser's coordinator on a reflection."""

    reflection = models.ForeignKey(
        Reflection, verbose_name=_("reflection"), on_delete=models.CASCADE, related_name="comments"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("author"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    text = models.CharField(_("comment"), max_length=COMMENT_MAX_CHARS)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("comment on a reflection")
        verbose_name_plural = _("comments on reflections")
        ordering = ["reflection", "created_at", "id"]
        constraints = [
            models.CheckConstraint(condition=~Q(text=""), name="reflection_comment_not_empty"),
        ]

    def __str__(self):
        return f"{self.reflection_id}: {self.text[:30]}"
