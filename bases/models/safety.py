"""Guardian consent for posts that need it, and students' safety-briefing acknowledgements."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from students.models import Student

from .applications import Application
from .posts import Post


class ConsentVia(models.TextChoices):
    PAPER = "paper", _("Paper form, recorded by the school")
    GUARDIAN = "guardian", _("Given by the guardian in the portal")


class GuardianConsent(models.Model):
    """A guardian's consent for one student to take part in one post.

    Recorded by the school from a paper form for now; a guardian's own login gives it with
    `given_via=guardian`. A withdrawn consent stays, with when and by whom; a new one is a new row.
    """

    student = models.ForeignKey(
        Student, verbose_name=_("student"), on_delete=models.CASCADE, related_name="+"
    )
    post = models.ForeignKey(
        Post, verbose_name=_("post"), on_delete=models.CASCADE, related_name="consents"
    )
    given_via = models.CharField(_("given via"), max_length=16, choices=ConsentVia.choices)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    given_at = models.DateTimeField(_("given at"))
    withdrawn_at = models.DateTimeField(_("withdrawn at"), null=True, blank=True)
    withdrawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("withdrawn by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("guardian consent")
        verbose_name_plural = _("guardian consents")
        ordering = ["-given_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["student", "post"],
                condition=Q(withdrawn_at__isnull=True),
                name="one_live_consent_per_student_post",
            ),
            models.CheckConstraint(
                condition=Q(given_via__in=ConsentVia.values), name="consent_given_via_valid"
            ),
        ]

    def __str__(self):
        return f"{self.student} - {self.post}"


class BriefingAcknowledgement(models.Model):
    """A student ticked that they read a post's safety briefing, in the version they saw."""

    student = models.ForeignKey(
        Student, verbose_name=_("student"), on_delete=models.CASCADE, related_name="+"
    )
    post = models.ForeignKey(
        Post, verbose_name=_("post"), on_delete=models.CASCADE, related_name="acknowledgements"
    )
    application = models.OneToOneField(
        Application,
        verbose_name=_("application"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="briefing_acknowledgement",
    )
    digest = models.CharField(_("briefing digest (SHA-256)"), max_length=64)
    text = models.TextField(_("briefing as acknowledged"))
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("acknowledged by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    acknowledged_at = models.DateTimeField(_("acknowledged at"), auto_now_add=True)

    class Meta:
        verbose_name = _("safety briefing acknowledgement")
        verbose_name_plural = _("safety briefing acknowledgements")
        ordering = ["-acknowledged_at", "-id"]

    def __str__(self):
        return f"{self.student} - {self.post} {self.digest[:8]}"
