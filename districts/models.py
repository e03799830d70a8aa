from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from portal.models import SheetUpload


class District(models.Model):
    """One of Shanghai's 16 districts, identified by its administrative code."""

    code = models.CharField(
        _("code"),
        max_length=6,
        unique=True,
        validators=[RegexValidator(r"\A[0-9]{6}\Z", _("Use the six-digit division code."))],
    )
    name_zh = models.CharField(_("Chinese name"), max_length=32, unique=True)
    name_en = models.CharField(_("English name"), max_length=64, unique=True)
    sort_order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        verbose_name = _("district")
        verbose_name_plural = _("districts")
        ordering = ["sort_order", "code"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(code__regex=r"\A[0-9]{6}\Z"), name="district_code_six_digits"
            ),
        ]

    def __str__(self):
        return self.name

    @property
    def name(self) -> str:
        """The name in the active language."""
        return self.name_en if (get_language() or "").startswith("en") else self.name_zh

    def natural_key(self):
        return (self.code,)


class DistrictAdmin(models.Model):
    """A district education bureau user: certifies bases and reviews posts in the district."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="district_admin",
    )
    district = models.ForeignKey(
        District, verbose_name=_("district"), on_delete=models.PROTECT, related_name="admins"
    )

    class Meta:
        verbose_name = _("district admin")
        verbose_name_plural = _("district admins")

    def __str__(self):
        return f"{self.user} ({self.district})"


class AccountImportKind(models.TextChoices):
    SCHOOL_ADMINS = "school_admins", _("School admins")
    DISTRICT_ADMINS = "district_admins", _("District admins")


class AccountImportStatus(models.TextChoices):
    PREVIEWED = "previewed", _("Checked, waiting for confirmation")
    REFUSED = "refused", _("Refused")
    IMPORTED = "imported", _("Imported")


class AccountImport(SheetUpload):
    """One uploaded sheet of admins' accounts: a district's school admins (by the district
    admin) or the districts' admins (by the city admin); its counts or its problems."""

    kind = models.CharField(_("kind"), max_length=20, choices=AccountImportKind.choices)
    #: The district whose schools' admins the sheet names; empty for the districts' admins.
    district = models.ForeignKey(
        District,
        verbose_name=_("district"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="account_imports",
    )
    file = models.FileField(_("file"), upload_to="account-imports/")
    status = models.CharField(_("status"), max_length=16, choices=AccountImportStatus.choices)
    #: Counts of the accounts the sheet creates, changes and leaves as they are.
    summary = models.JSONField(_("summary"), default=dict, blank=True)

    class Meta(SheetUpload.Meta):
        verbose_name = _("admins' sheet")
        verbose_name_plural = _("admins' sheets")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(status=AccountImportStatus.IMPORTED)
                | models.Q(imported_at__isnull=False),
                name="account_import_done_has_time",
            ),
            models.CheckConstraint(
                condition=models.Q(kind=AccountImportKind.DISTRICT_ADMINS, district__isnull=True)
                | models.Q(kind=AccountImportKind.SCHOOL_ADMINS, district__isnull=False),
                name="account_import_kind_matches_district",
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.original_name} ({self.get_status_display()})"

    def get_absolute_url(self) -> str:
        # The pages are the students app's, with the admins' logins (a floor up).
        return reverse("students:account-import", args=[self.pk])
