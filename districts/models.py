from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _


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
