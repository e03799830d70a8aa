"""Guardians (家长): a guardian's link to each child, and the one-time codes that make one."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .schools import Student


class GuardianCode(models.Model):
    """A one-time code the school issues for a student's guardian, printed on the login slip.

    Only a keyed hash is stored (`students.guardians`); redeeming it links the guardian who
    typed it to the student, once.
    """

    student = models.ForeignKey(
        Student, verbose_name=_("student"), on_delete=models.CASCADE, related_name="guardian_codes"
    )
    code_hash = models.CharField(_("code hash"), max_length=64)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("issued by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("issued"), auto_now_add=True)
    expires_at = models.DateTimeField(_("expires"))
    used_at = models.DateTimeField(_("used"), null=True, blank=True)
    used_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("used by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    class Meta:
        verbose_name = _("guardian code")
        verbose_name_plural = _("guardian codes")
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.student} · {self.created_at:%Y-%m-%d}"


class Guardianship(models.Model):
    """A guardian's link to one child: what lets them see the child's pages and consent."""

    guardian = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("guardian"),
        on_delete=models.CASCADE,
        related_name="guardianships",
    )
    student = models.ForeignKey(
        Student, verbose_name=_("student"), on_delete=models.CASCADE, related_name="guardianships"
    )
    code = models.ForeignKey(
        GuardianCode,
        verbose_name=_("code"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    linked_at = models.DateTimeField(_("linked"), auto_now_add=True)
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)

    class Meta:
        verbose_name = _("guardianship")
        verbose_name_plural = _("guardianships")
        ordering = ["linked_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["guardian", "student"],
                condition=Q(ended_at__isnull=True),
                name="one_live_guardianship_per_pair",
            ),
        ]

    def __str__(self):
        return f"{self.guardian} → {self.student}"
