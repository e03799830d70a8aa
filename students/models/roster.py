"""A school's roster sheet (classes, students, head teachers): checked, then imported whole."""

from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from portal.models import SheetUpload

from .schools import School


class RosterImportStatus(models.TextChoices):
    PREVIEWED = "previewed", _("Checked, waiting for confirmation")
    REFUSED = "refused", _("Refused")
    IMPORTED = "imported", _("Imported")


class RosterImport(SheetUpload):
    """One uploaded roster: what it would change (`summary`), or its errors by row and column."""

    school = models.ForeignKey(
        School, verbose_name=_("school"), on_delete=models.CASCADE, related_name="roster_imports"
    )
    file = models.FileField(_("file"), upload_to="roster-imports/")
    status = models.CharField(_("status"), max_length=16, choices=RosterImportStatus.choices)
    #: Counts of what the sheet creates, changes and marks as left (see `students.roster`).
    summary = models.JSONField(_("summary"), default=dict, blank=True)

    class Meta(SheetUpload.Meta):
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

    def get_absolute_url(self) -> str:
        return reverse("students:roster-import", args=[self.school_id, self.pk])
