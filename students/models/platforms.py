"""Records from other platforms (上海志愿者网/志愿云, 志愿汇, a generic sheet): the uploaded
export, and one row per platform record kept with its provenance and, when it overlaps a record
the student already has, the school's decision."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from portal.models import SheetUpload

from .ledger import PracticeRecord
from .schools import School, Student


class Platform(models.TextChoices):
    SHVOL = "shvol", _("上海志愿者网 / 志愿云")
    ZYH = "zyh", _("志愿汇")
    GENERIC = "generic", _("Other platform (portal template)")


class PlatformImportStatus(models.TextChoices):
    CHECKING = "checking", _("Being checked in the background")
    PREVIEWED = "previewed", _("Checked, waiting for confirmation")
    AWAITING_REVIEW = "awaiting_review", _("Sent by the student, waiting for the school")
    IMPORTING = "importing", _("Importing in the background")
    REFUSED = "refused", _("Refused")
    IMPORTED = "imported", _("Imported")


class PlatformImport(SheetUpload):
    """One uploaded export of another platform: what it would add (`summary`), or its errors."""

    school = models.ForeignKey(
        School, verbose_name=_("school"), on_delete=models.CASCADE, related_name="platform_imports"
    )
    platform = models.CharField(_("platform"), max_length=16, choices=Platform.choices)
    # Set when a student uploads their own records: the school reviews them before they count.
    student = models.ForeignKey(
        Student,
        verbose_name=_("student"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="platform_imports",
    )
    file = models.FileField(_("file"), upload_to="platform-imports/")
    status = models.CharField(_("status"), max_length=16, choices=PlatformImportStatus.choices)
    #: Counts of new, already imported and overlapping rows (see `students.platforms`).
    summary = models.JSONField(_("summary"), default=dict, blank=True)
    #: Each good row as read, for the preview (student, activity, times, minutes, what happens).
    preview = models.JSONField(_("preview"), default=list, blank=True)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("confirmed by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    #: When a confirmation was last handed to the worker (an `importing` one past
    #: `PLATFORM_IMPORT_STALE_SECONDS` is queued again by beat).
    queued_at = models.DateTimeField(_("queued at"), null=True, blank=True)

    class Meta(SheetUpload.Meta):
        verbose_name = _("import from another platform")
        verbose_name_plural = _("imports from other platforms")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status=PlatformImportStatus.IMPORTED) | Q(imported_at__isnull=False),
                name="platform_import_done_has_time",
            ),
            models.CheckConstraint(
                condition=Q(platform__in=Platform.values), name="platform_import_platform_valid"
            ),
        ]

    def __str__(self):
        return f"{self.school} {self.original_name} ({self.get_status_display()})"

    def get_absolute_url(self) -> str:
        return reverse("students:platform-import", args=[self.pk])


class PlatformRecordStatus(models.TextChoices):
    CREDITED = "credited", _("In the ledger")
    OVERLAP = "overlap", _("Overlaps a record the student has: waiting for the school")
    KEPT_EXISTING = "kept_existing", _("Overlap decided: the existing record kept")
    TOOK_NEW = "took_new", _("Overlap decided: this record taken, the other revoked")
    KEPT_BOTH = "kept_both", _("Overlap decided: both kept, times corrected")


class PlatformRecord(models.Model):
    """One record of another platform as imported: its provenance (platform, the platform's own
    id, the file's digest, who imported it) and the ledger record it became, if any.

    (platform, original_id) is the natural key: the same record imported again is found here and
    changes nothing."""

    platform = models.CharField(_("platform"), max_length=16, choices=Platform.choices)
    original_id = models.CharField(_("record id on the platform"), max_length=64)
    upload = models.ForeignKey(
        PlatformImport, verbose_name=_("import"), on_delete=models.PROTECT, related_name="items"
    )
    sha256 = models.CharField(_("file SHA-256"), max_length=64)
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("imported by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    imported_at = models.DateTimeField(_("imported at"), auto_now_add=True)
    student = models.ForeignKey(
        Student, verbose_name=_("student"), on_delete=models.PROTECT, related_name="+"
    )
    volunteer_number = models.CharField(_("volunteer number"), max_length=64, blank=True)
    title = models.CharField(_("activity"), max_length=200)
    organiser_name = models.CharField(_("organiser"), max_length=200)
    started_at = models.DateTimeField(_("started"))
    ended_at = models.DateTimeField(_("ended"))
    minutes = models.PositiveIntegerField(_("minutes claimed"))
    # The start was not in the export (a date and hours only): 09:00 was assumed.
    start_assumed = models.BooleanField(_("start time assumed"), default=False)
    status = models.CharField(_("status"), max_length=16, choices=PlatformRecordStatus.choices)
    record = models.OneToOneField(
        PracticeRecord,
        verbose_name=_("ledger record"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="platform_origin",
    )
    overlaps = models.ForeignKey(
        PracticeRecord,
        verbose_name=_("overlapping record"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_reason = models.CharField(_("reason"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("record from another platform")
        verbose_name_plural = _("records from other platforms")
        ordering = ["started_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["platform", "original_id"], name="platform_record_natural_key"
            ),
            models.CheckConstraint(
                condition=~Q(status=PlatformRecordStatus.OVERLAP) | Q(overlaps__isnull=False),
                name="platform_record_overlap_names_other",
            ),
            models.CheckConstraint(
                condition=Q(status__in=PlatformRecordStatus.values),
                name="platform_record_status_valid",
            ),
        ]
        indexes = [models.Index(fields=["status", "student"])]

    def __str__(self):
        return f"{self.get_platform_display()} {self.original_id}"
