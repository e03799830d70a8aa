"""Attendance, the scans it is derived from, API tokens and attendance imports."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.models import SheetUpload
from students.models import RecordedVia, Student

from .applications import Application
from .bases import Base
from .posts import Session


class Attendance(models.Model):
    """What the base recorded for one student at one session: the source of credited time."""

    session = models.ForeignKey(
        Session, verbose_name=_("session"), on_delete=models.CASCADE, related_name="attendances"
    )
    student = models.ForeignKey(
        Student, verbose_name=_("student"), on_delete=models.PROTECT, related_name="attendances"
    )
    application = models.OneToOneField(
        Application,
        verbose_name=_("application"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="attendance",
    )
    checked_in_at = models.DateTimeField(_("checked in"), null=True, blank=True)
    checked_out_at = models.DateTimeField(_("checked out"), null=True, blank=True)
    credited_minutes = models.PositiveIntegerField(_("credited minutes"), null=True, blank=True)
    recorded_via = models.CharField(
        _("recorded via"), max_length=16, choices=RecordedVia.choices, default=RecordedVia.ROSTER
    )
    walk_in_reason = models.CharField(_("reason for adding"), max_length=300, blank=True)
    awaiting_confirmation = models.BooleanField(
        _("walk-in awaiting confirmation"),
        default=False,
        help_text=_("A walk-in who checked in by themselves, until the coordinator confirms."),
    )
    corrected = models.BooleanField(
        _("corrected by hand"),
        default=False,
        help_text=_("Once corrected with a reason, later scans no longer change the times."),
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("attendance")
        verbose_name_plural = _("attendance")
        ordering = ["session", "student"]
        constraints = [
            models.UniqueConstraint(
                fields=["session", "student"], name="attendance_once_per_session"
            ),
            models.CheckConstraint(
                condition=Q(checked_in_at__isnull=True)
                | Q(checked_out_at__isnull=True)
                | Q(checked_in_at__lt=F("checked_out_at")),
                name="attendance_in_before_out",
            ),
            models.CheckConstraint(
                condition=Q(checked_out_at__isnull=True) | Q(checked_in_at__isnull=False),
                name="attendance_out_needs_in",
            ),
            models.CheckConstraint(
                condition=Q(application__isnull=False) | ~Q(walk_in_reason=""),
                name="attendance_walk_in_has_reason",
            ),
        ]

    def __str__(self):
        return f"{self.student} @ {self.session}"


class ScanKind(models.TextChoices):
    CHECK_IN = "in", _("Check-in")
    CHECK_OUT = "out", _("Check-out")


class AttendanceScan(models.Model):
    """One check-in or check-out as it happened; the nonce makes a retried scan count once."""

    nonce = models.CharField(_("nonce"), max_length=64, unique=True)
    session = models.ForeignKey(
        Session, verbose_name=_("session"), on_delete=models.CASCADE, related_name="scans"
    )
    student = models.ForeignKey(
        Student, verbose_name=_("student"), on_delete=models.PROTECT, related_name="+"
    )
    kind = models.CharField(_("kind"), max_length=3, choices=ScanKind.choices)
    happened_at = models.DateTimeField(_("happened at"))
    received_at = models.DateTimeField(_("received at"), auto_now_add=True)
    source = models.CharField(_("source"), max_length=16, choices=RecordedVia.choices)
    payload_digest = models.CharField(_("payload digest"), max_length=64)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("attendance scan")
        verbose_name_plural = _("attendance scans")
        ordering = ["happened_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(nonce__regex=r"\A[A-Za-z0-9_.:-]{8,64}\Z"), name="scan_nonce_format"
            ),
        ]

    def __str__(self):
        return f"{self.nonce} {self.kind}"


class BaseApiToken(models.Model):
    """A token a base's own system uses to push scans; only its hash is stored."""

    base = models.ForeignKey(
        Base, verbose_name=_("base"), on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(_("name"), max_length=64)
    prefix = models.CharField(_("prefix"), max_length=12, unique=True)
    key_hash = models.CharField(_("key hash"), max_length=64, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=~Q(name=""), name="api_token_name_not_empty"),
        ]

    def __str__(self):
        return f"{self.base} - {self.name} ({self.prefix}…)"

    def expired(self, now=None) -> bool:
        return self.expires_at is not None and self.expires_at <= (now or timezone.now())


class ImportStatus(models.TextChoices):
    PREVIEWED = "previewed", _("Checked, waiting for confirmation")
    IMPORTING = "importing", _("Importing")
    REFUSED = "refused", _("Refused")
    IMPORTED = "imported", _("Imported")


class AttendanceImport(SheetUpload):
    """A base's attendance sheet: checked first (dry run), then imported all or nothing."""

    base = models.ForeignKey(
        Base, verbose_name=_("base"), on_delete=models.CASCADE, related_name="attendance_imports"
    )
    file = models.FileField(_("file"), upload_to="attendance-imports/")
    status = models.CharField(_("status"), max_length=16, choices=ImportStatus.choices)
    created_count = models.PositiveIntegerField(_("rows added"), default=0)

    class Meta(SheetUpload.Meta):
        verbose_name = _("attendance import")
        verbose_name_plural = _("attendance imports")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status=ImportStatus.IMPORTED) | Q(imported_at__isnull=False),
                name="import_done_has_time",
            ),
        ]

    def __str__(self):
        return f"{self.base} {self.original_name}"

    def get_absolute_url(self) -> str:
        return reverse("bases:attendance-import-detail", args=[self.pk])
