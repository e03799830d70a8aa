"""A school's roster sheet (classes, students, head teachers): checked, then imported whole."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .schools import School


class RosterImportStatus(models.TextChoices):
    PREVIEWED = "previewed", _("Checked, waiting for confirmation")
    REFUSED = "refused", _("Refused")
    IMPORTED = "imported", _("Imported")


class RosterImport(models.Model):
    """One uploaded roster: what it would change (`summary`), or its errors by row and column."""

    school = models.ForeignKey(
        School, verbose_name=_("school"), on_delete=models.CASCADE, related_name="roster_imports"
    )
    file = models.FileField(_("file"), upload_to="roster-imports/")
    original_name = models.CharField(_("file name"), max_length=200)
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    status = models.CharField(_("status"), max_length=16, choices=RosterImportStatus.choices)
    row_count = models.PositiveIntegerField(_("rows"), default=0)
    #: Counts of what the sheet creates, changes and marks as left (see `students.roster`).
    summary = models.JSONField(_("summary"), default=dict, blank=True)
    errors = models.JSONField(_("errors"), default=list, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("uploaded by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)
    imported_at = models.DateTimeField(_("imported at"), null=True, blank=True)

    class Meta:
        verbose_name = _("roster import")
        verbose_name_plural = _("roster imports")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status=RosterImportStatus.IMPORTED) | Q(imported_at__isnull=False),
                name="roster_import_done_has_time",
            ),
        ]

    def __str__(self):
        return f"{self.school} {self.original_name} ({self.get_status_display()})"
