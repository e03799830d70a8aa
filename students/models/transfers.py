"""Transfers: a student moving to another school of this installation, and record packages
from another installation with the installations this one trusts."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .ledger import PracticeRecord
from .schools import School, SchoolClass, Student


class TransferStatus(models.TextChoices):
    REQUESTED = "requested", _("Waiting for the sending school")
    CONFIRMED = "confirmed", _("Confirmed")
    REFUSED = "refused", _("Refused")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class Transfer(models.Model):
    """A move of one student from a class of one school to a class of another (转学), kept for good.

    The receiving school asks, the sending school confirms or refuses; the records stay on the
    student unchanged.
    """

    student = models.ForeignKey(
        Student, verbose_name=_("student"), on_delete=models.PROTECT, related_name="transfers"
    )
    from_school = models.ForeignKey(
        School, verbose_name=_("from school"), on_delete=models.PROTECT, related_name="+"
    )
    from_class = models.ForeignKey(
        SchoolClass, verbose_name=_("from class"), on_delete=models.PROTECT, related_name="+"
    )
    to_school = models.ForeignKey(
        School, verbose_name=_("to school"), on_delete=models.PROTECT, related_name="+"
    )
    to_class = models.ForeignKey(
        SchoolClass, verbose_name=_("to class"), on_delete=models.PROTECT, related_name="+"
    )
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=TransferStatus.choices,
        default=TransferStatus.REQUESTED,
    )
    note = models.CharField(_("note from the receiving school"), max_length=500, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    requested_at = models.DateTimeField(_("requested at"), auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("confirmed or refused by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("confirmed or refused at"), null=True, blank=True)
    refusal_reason = models.CharField(_("reason for refusing"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("transfer")
        verbose_name_plural = _("transfers")
        ordering = ["-requested_at", "-id"]
        constraints = [
            # One open request per student: a second school must wait for the first answer.
            models.UniqueConstraint(
                fields=["student"],
                condition=Q(status="requested"),
                name="one_open_transfer_per_student",
            ),
            models.CheckConstraint(
                condition=~Q(from_school=models.F("to_school")), name="transfer_between_schools"
            ),
            models.CheckConstraint(
                condition=Q(status="requested")
                | (Q(decided_at__isnull=False) & Q(decided_by__isnull=False)),
                name="transfer_decision_recorded",
            ),
            models.CheckConstraint(
                condition=~Q(status="refused") | ~Q(refusal_reason=""),
                name="transfer_refusal_has_reason",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["requested", "confirmed", "refused", "withdrawn"]),
                name="transfer_status_valid",
            ),
        ]

    def __str__(self):
        return f"{self.student} {self.from_school} → {self.to_school}"

    @property
    def is_open(self) -> bool:
        return self.status == TransferStatus.REQUESTED


class TrustedInstallation(models.Model):
    """Another installation of the portal whose signed record packages this one accepts."""

    name = models.CharField(_("name"), max_length=200)
    public_key = models.TextField(
        _("public key (PEM)"), help_text=_("The Ed25519 public key the other installation shows.")
    )
    fingerprint = models.CharField(_("fingerprint"), max_length=64, unique=True, editable=False)
    active = models.BooleanField(_("trusted"), default=True)
    added_at = models.DateTimeField(_("added at"), auto_now_add=True)

    class Meta:
        verbose_name = _("trusted installation")
        verbose_name_plural = _("trusted installations")
        ordering = ["name"]

    def __str__(self):
        return self.name


class RecordPackageImport(models.Model):
    """One signed record package taken in: who uploaded it, its digest, what it carried."""

    installation = models.ForeignKey(
        TrustedInstallation,
        verbose_name=_("sent by"),
        on_delete=models.PROTECT,
        related_name="imports",
    )
    student = models.ForeignKey(
        Student, verbose_name=_("student"), on_delete=models.PROTECT, related_name="+"
    )
    sha256 = models.CharField(_("SHA-256"), max_length=64, unique=True)
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("imported by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    imported_at = models.DateTimeField(_("imported at"), auto_now_add=True)
    records_created = models.PositiveIntegerField(_("records added"), default=0)
    records_existing = models.PositiveIntegerField(_("records already here"), default=0)
    # The sender's certificate numbers, kept so a certificate issued there can be traced.
    certificates = models.JSONField(_("certificates issued by the sender"), default=list)
    signed_at = models.DateTimeField(_("signed at"))

    class Meta:
        verbose_name = _("record package import")
        verbose_name_plural = _("record package imports")
        ordering = ["-imported_at", "-id"]

    def __str__(self):
        return f"{self.student} ← {self.installation}"


class RecordOrigin(models.Model):
    """Where an imported record came from: the sending installation's own facts about it."""

    record = models.OneToOneField(
        PracticeRecord, verbose_name=_("record"), on_delete=models.CASCADE, related_name="origin"
    )
    package = models.ForeignKey(
        RecordPackageImport,
        verbose_name=_("package"),
        on_delete=models.PROTECT,
        related_name="origins",
    )
    installation = models.ForeignKey(
        TrustedInstallation,
        verbose_name=_("installation"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    origin_record_id = models.CharField(_("record id at the sender"), max_length=32)
    source_ref = models.CharField(_("source reference at the sender"), max_length=100)
    recorded_via = models.CharField(_("recorded via at the sender"), max_length=16)
    organiser_ref = models.CharField(_("organiser reference at the sender"), max_length=40)
    # The highest version the sender exported to the evaluation system: it holds that one
    # already, so this installation's export never sends it (or an older one) again.
    exported_version = models.PositiveIntegerField(
        _("version exported by the sender"), null=True, blank=True
    )

    class Meta:
        verbose_name = _("record origin")
        verbose_name_plural = _("record origins")
        constraints = [
            models.UniqueConstraint(
                fields=["installation", "origin_record_id"], name="record_origin_once"
            ),
        ]

    def __str__(self):
        return f"{self.installation} #{self.origin_record_id}"
