"""Class reservations and students' applications to sessions."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from students.models import SchoolClass, Student

from .posts import Session


class ClassReservation(models.Model):
    """Seats a head teacher holds on a session for a class (集体组织)."""

    session = models.ForeignKey(
        Session, verbose_name=_("session"), on_delete=models.CASCADE, related_name="reservations"
    )
    school_class = models.ForeignKey(
        SchoolClass, verbose_name=_("class"), on_delete=models.CASCADE, related_name="+"
    )
    seats = models.PositiveIntegerField(_("seats"))
    reserved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reserved by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    release_at = models.DateTimeField(_("unnamed seats return at"))
    released_at = models.DateTimeField(_("released at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("class reservation")
        verbose_name_plural = _("class reservations")
        constraints = [
            models.UniqueConstraint(
                fields=["session", "school_class"], name="reservation_once_per_class"
            ),
            models.CheckConstraint(condition=Q(seats__gt=0), name="reservation_seats_positive"),
        ]

    def __str__(self):
        return f"{self.school_class} - {self.session}"


class ApplicationStatus(models.TextChoices):
    AWAITING_CONSENT = "awaiting_consent", _("Awaiting guardian consent")
    PENDING = "pending", _("Pending lottery")
    CONFIRMED = "confirmed", _("Confirmed")
    WAITLISTED = "waitlisted", _("Waiting list")
    CANCELLED = "cancelled", _("Cancelled")
    REJECTED = "rejected", _("Rejected")
    ATTENDED = "attended", _("Attended")
    NO_SHOW = "no_show", _("No show")
    REMOVED = "removed", _("Removed by the base")


# Still waiting for the session: the student may cancel, and the application counts as open.
LIVE_STATUSES = (
    ApplicationStatus.AWAITING_CONSENT,
    ApplicationStatus.PENDING,
    ApplicationStatus.CONFIRMED,
    ApplicationStatus.WAITLISTED,
)
# Holding a seat at the session: scans and imports may record attendance for these students.
ON_SESSION_STATUSES = (ApplicationStatus.CONFIRMED, ApplicationStatus.ATTENDED)
# On the session's roster: holding a seat, or marked absent when attendance closed.
ON_ROSTER_STATUSES = (*ON_SESSION_STATUSES, ApplicationStatus.NO_SHOW)

LIVE_APPLICATION = ~Q(
    status__in=[ApplicationStatus.CANCELLED, ApplicationStatus.REJECTED, ApplicationStatus.REMOVED]
)


class Application(models.Model):
    """A student's claim on a session (报名)."""

    student = models.ForeignKey(
        Student, verbose_name=_("student"), on_delete=models.CASCADE, related_name="applications"
    )
    session = models.ForeignKey(
        Session, verbose_name=_("session"), on_delete=models.CASCADE, related_name="applications"
    )
    status = models.CharField(_("status"), max_length=16, choices=ApplicationStatus.choices)
    reservation = models.ForeignKey(
        ClassReservation,
        verbose_name=_("class reservation"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="applications",
    )
    # Why the base cancelled the session or removed the student, as the student was told.
    status_reason = models.CharField(_("reason"), max_length=300, blank=True, db_default="")
    # Set when the student cancels (never when the base cancels the session or removes them):
    # when, and what the application was then; a confirmed one cancelled late costs reliability.
    cancelled_at = models.DateTimeField(_("cancelled by the student at"), null=True, blank=True)
    cancelled_from = models.CharField(
        _("status when cancelled"), max_length=16, blank=True, db_default=""
    )
    draw_position = models.PositiveIntegerField(_("draw position"), null=True, blank=True)
    draw_weight = models.FloatField(_("draw weight"), null=True, blank=True)
    created_at = models.DateTimeField(_("applied at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("application")
        verbose_name_plural = _("applications")
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["session", "status", "created_at"]),
            models.Index(fields=["student", "status"]),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["student", "session"],
                condition=LIVE_APPLICATION,
                name="one_live_application_per_session",
            ),
            models.CheckConstraint(
                condition=Q(status__in=ApplicationStatus.values), name="application_status_valid"
            ),
        ]

    def __str__(self):
        return f"{self.student} - {self.session}"


class ReliabilityHoldLift(models.Model):
    """A head teacher lifted a student's reliability hold: the no-shows before it stop counting."""

    student = models.ForeignKey(
        Student, verbose_name=_("student"), on_delete=models.CASCADE, related_name="hold_lifts"
    )
    lifted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("lifted by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    reason = models.CharField(_("reason"), max_length=1000)
    lifted_at = models.DateTimeField(_("lifted at"))

    class Meta:
        verbose_name = _("reliability hold lifted")
        verbose_name_plural = _("reliability holds lifted")
        ordering = ["-lifted_at", "-id"]
        indexes = [models.Index(fields=["student", "lifted_at"])]
        constraints = [
            models.CheckConstraint(condition=~Q(reason=""), name="hold_lift_reason_not_empty")
        ]

    def __str__(self):
        return f"{self.student} - {self.lifted_at:%Y-%m-%d}"
