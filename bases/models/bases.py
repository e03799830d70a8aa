"""Bases, their contracts with schools, and their coordinators."""

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from districts.models import District
from portal.changes import ChangeSignallingQuerySet
from students.models import School

BASE_CODE_REGEX = r"\A[A-Za-z0-9-]{1,32}\Z"


class BaseLevel(models.TextChoices):
    CITY = "city", _("City-certified base")
    DISTRICT = "district", _("District-certified base")
    SCHOOL = "school", _("School-contracted base")
    PROJECT = "project", _("Social practice project")


class BaseStatus(models.TextChoices):
    PENDING = "pending", _("Pending certification")
    CERTIFIED = "certified", _("Certified")
    SUSPENDED = "suspended", _("Suspended")
    REVOKED = "revoked", _("Revoked")


class Base(models.Model):
    """A venue or organisation that hosts students (社会实践基地), or a time-limited project."""

    code = models.CharField(
        _("base code"),
        max_length=32,
        unique=True,
        validators=[RegexValidator(BASE_CODE_REGEX, _("Use letters, digits and hyphens."))],
    )
    name = models.CharField(_("name"), max_length=100)
    name_en = models.CharField(_("English name"), max_length=150, blank=True)
    level = models.CharField(_("level"), max_length=16, choices=BaseLevel.choices)
    district = models.ForeignKey(
        District, verbose_name=_("district"), on_delete=models.PROTECT, related_name="bases"
    )
    address = models.CharField(_("address"), max_length=200, blank=True)
    description = models.TextField(_("description"), blank=True)
    image = models.ImageField(
        _("picture"),
        upload_to="images/bases/",
        blank=True,
        default="",
        db_default="",
        help_text=_("A JPEG or PNG picture of the base; it is re-encoded without its metadata."),
    )
    status = models.CharField(
        _("certification status"),
        max_length=16,
        choices=BaseStatus.choices,
        default=BaseStatus.PENDING,
    )
    certified_until = models.DateField(_("certified until"), null=True, blank=True)
    certified_at = models.DateTimeField(_("certified at"), null=True, blank=True)
    certified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("certified by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    contracted_schools = models.ManyToManyField(
        School,
        verbose_name=_("contracted schools"),
        through="SchoolContract",
        related_name="contracted_bases",
        blank=True,
    )

    objects = ChangeSignallingQuerySet.as_manager()

    class Meta:
        verbose_name = _("base")
        verbose_name_plural = _("bases")
        ordering = ["district__sort_order", "code"]
        indexes = [models.Index(fields=["status", "certified_until"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(code__regex=BASE_CODE_REGEX), name="base_code_format"
            ),
            models.CheckConstraint(condition=~Q(name=""), name="base_name_not_empty"),
            models.CheckConstraint(
                condition=Q(level__in=BaseLevel.values), name="base_level_valid"
            ),
            models.CheckConstraint(
                condition=Q(status__in=BaseStatus.values), name="base_status_valid"
            ),
            models.CheckConstraint(
                condition=~Q(status=BaseStatus.CERTIFIED) | Q(certified_until__isnull=False),
                name="base_certified_has_expiry",
            ),
        ]

    def __str__(self):
        return self.name


class SchoolContract(models.Model):
    """A school's contract with a base (学校签约基地): its students may see the base's posts."""

    base = models.ForeignKey(
        Base, verbose_name=_("base"), on_delete=models.CASCADE, related_name="contracts"
    )
    school = models.ForeignKey(
        School, verbose_name=_("school"), on_delete=models.CASCADE, related_name="base_contracts"
    )
    valid_until = models.DateField(_("valid until"))
    contracted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("contracted by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    objects = ChangeSignallingQuerySet.as_manager()

    class Meta:
        verbose_name = _("school contract")
        verbose_name_plural = _("school contracts")
        constraints = [
            models.UniqueConstraint(fields=["base", "school"], name="contract_unique"),
        ]

    def __str__(self):
        return f"{self.school} - {self.base}"


class Coordinator(models.Model):
    """A base's staff member who publishes posts and records attendance."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="coordinator_roles",
    )
    base = models.ForeignKey(
        Base, verbose_name=_("base"), on_delete=models.CASCADE, related_name="coordinators"
    )

    class Meta:
        verbose_name = _("coordinator")
        verbose_name_plural = _("coordinators")
        constraints = [
            models.UniqueConstraint(fields=["user", "base"], name="coordinator_unique"),
        ]

    def __str__(self):
        return f"{self.user} @ {self.base}"
