import os
import re

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from students.models import PracticeRecord


class BatchKind(models.TextChoices):
    DELTA = "delta", _("Changes since the last batch")
    FULL = "full", _("Full state")
    RESEND = "resend", _("Re-sent rejected lines")


class BatchStatus(models.TextChoices):
    PENDING = "pending", _("Waiting")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class BatchFormat(models.TextChoices):
    XLSX = "xlsx", "xlsx"
    CSV = "csv", "csv"


class ExportBatch(models.Model):
    """One export of records to the evaluation system (综合素质评价) for a period."""

    period = models.CharField(_("period"), max_length=32)
    kind = models.CharField(_("kind"), max_length=8, choices=BatchKind.choices)
    format = models.CharField(
        _("format"), max_length=8, choices=BatchFormat.choices, default=BatchFormat.XLSX
    )
    # The file's format version (docs/export-format.md): chosen when the batch is created, kept
    # by every rerun of it.
    format_version = models.PositiveSmallIntegerField(
        _("format version"), choices=[(1, "v1"), (2, "v2")], default=1
    )
    status = models.CharField(
        _("status"), max_length=16, choices=BatchStatus.choices, default=BatchStatus.PENDING
    )
    file = models.FileField(_("file"), upload_to="exports/", blank=True)
    row_count = models.PositiveIntegerField(_("rows"), default=0)
    rows_done = models.PositiveIntegerField(_("rows written"), default=0)
    sha256 = models.CharField(_("SHA-256"), max_length=64, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)
    # The run that owns the batch while it is running; a run taken over by another stops.
    run_token = models.CharField(_("run token"), max_length=32, blank=True, editable=False)
    heartbeat_at = models.DateTimeField(_("last sign of life"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)
    delivered_to = models.CharField(_("delivered to"), max_length=300, blank=True)
    delivery_attempts = models.PositiveSmallIntegerField(_("delivery attempts"), default=0)
    delivery_error = models.TextField(_("delivery error"), blank=True)
    acked_at = models.DateTimeField(_("acknowledged"), null=True, blank=True)

    class Meta:
        verbose_name = _("export batch")
        verbose_name_plural = _("export batches")
        ordering = ["-created_at", "-id"]
        constraints = [
            # One batch per period: a rerun continues the existing row instead of adding one.
            models.UniqueConstraint(fields=["period", "kind"], name="one_batch_per_period"),
            models.CheckConstraint(
                condition=~Q(status=BatchStatus.DONE)
                | (Q(finished_at__isnull=False) & ~Q(sha256="")),
                name="batch_done_has_checksum",
            ),
            models.CheckConstraint(
                condition=Q(rows_done__lte=models.F("row_count")) | Q(row_count=0),
                name="batch_progress_within_total",
            ),
            models.CheckConstraint(
                condition=Q(format_version__in=[1, 2]), name="batch_format_version_known"
            ),
        ]

    def __str__(self):
        return f"{self.period} {self.kind}"

    @property
    def period_label(self) -> str:
        """The period as people say it: `2026年第49周` for `2026-W49`, a re-send's date and time."""
        week = re.fullmatch(r"(\d{4})-W(\d{2})", self.period)
        if week:
            return _("Week %(week)s of %(year)s") % {
                "year": week[1],
                "week": int(week[2]),
            }
        minute = re.fullmatch(r"(\d{4}-\d{2}-\d{2})T(\d{2})(\d{2})", self.period)
        if minute:
            return f"{minute[1]} {minute[2]}:{minute[3]}"
        return self.period

    @property
    def file_label(self) -> str:
        """The file's own name, never the folder it is kept in."""
        return os.path.basename(self.file.name) if self.file else ""

    @property
    def percent(self) -> int:
        """Progress for the bar: rows written out of the rows expected."""
        if self.status == BatchStatus.DONE:
            return 100
        if not self.row_count:
            return 0
        return min(99, self.rows_done * 100 // self.row_count)


class Operation(models.TextChoices):
    NEW = "new", _("New")
    CORRECTION = "correction", _("Correction")
    REVOCATION = "revocation", _("Revocation")


class AckStatus(models.TextChoices):
    PENDING = "pending", _("Awaiting acknowledgement")
    ACCEPTED = "accepted", _("Accepted")
    REJECTED = "rejected", _("Rejected")


class ExportedLine(models.Model):
    """One (record, version) sent in a batch; a delta sends each pair exactly once."""

    batch = models.ForeignKey(
        ExportBatch, verbose_name=_("batch"), on_delete=models.CASCADE, related_name="lines"
    )
    batch_kind = models.CharField(_("batch kind"), max_length=8, choices=BatchKind.choices)
    record = models.ForeignKey(
        PracticeRecord, verbose_name=_("record"), on_delete=models.PROTECT, related_name="+"
    )
    version = models.PositiveIntegerField(_("version"))
    operation = models.CharField(_("operation"), max_length=16, choices=Operation.choices)
    ack_status = models.CharField(
        _("acknowledgement"), max_length=16, choices=AckStatus.choices, default=AckStatus.PENDING
    )
    ack_reason = models.CharField(_("receiver's reason"), max_length=500, blank=True)
    acked_at = models.DateTimeField(_("acknowledged at"), null=True, blank=True)

    class Meta:
        verbose_name = _("exported line")
        verbose_name_plural = _("exported lines")
        ordering = ["batch", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["record", "version"],
                condition=Q(batch_kind=BatchKind.DELTA),
                name="delta_exports_version_once",
            ),
            models.UniqueConstraint(fields=["batch", "record"], name="line_once_per_batch"),
            models.CheckConstraint(condition=Q(version__gte=1), name="line_version_positive"),
        ]

    def __str__(self):
        return f"{self.record_id} v{self.version} {self.operation}"
