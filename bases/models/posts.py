"""Posts a base offers, and their sessions."""

import hashlib
from dataclasses import dataclass

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.templatetags.static import static
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from portal.changes import ChangeSignallingQuerySet
from portal.text import join_list
from students.models import Category, PostKind

from .bases import Base


class PostStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    IN_REVIEW = "in_review", _("In review")
    PUBLISHED = "published", _("Published")
    CLOSED = "closed", _("Closed")


GRADES_REGEX = r"\A1?2?3?\Z"


# Categories with a drawing of their own in static/portal/placeholders/; others get default.svg.
PLACEHOLDER_CATEGORIES = frozenset(
    {
        "volunteer_service",
        "social_investigation",
        "career_experience",
        "safety_training",
        "military_training",
        "rural_practice",
    }
)


@dataclass(frozen=True)
class Picture:
    """What a page shows for a post: its picture, its base's, or its category's drawing."""

    url: str
    alt: str
    placeholder: bool


def grades_display(grades: str) -> str:
    """ "12" -> "高中1年级、高中2年级" / "Grade 1, Grade 2, Grade 3", in the current language."""
    return join_list(gettext("Grade %(g)s") % {"g": grade} for grade in grades)


class Post(models.Model):
    """A role at a base (岗位) that students apply for through its sessions."""

    base = models.ForeignKey(
        Base, verbose_name=_("base"), on_delete=models.CASCADE, related_name="posts"
    )
    title = models.CharField(_("title"), max_length=100)
    category = models.ForeignKey(
        Category, verbose_name=_("category"), on_delete=models.PROTECT, related_name="posts"
    )
    description = models.TextField(_("description"), blank=True)
    requirements = models.TextField(_("requirements"), blank=True)
    place = models.CharField(_("place"), max_length=200, blank=True)
    image = models.ImageField(
        _("picture"),
        upload_to="images/posts/",
        blank=True,
        default="",
        db_default="",
        help_text=_("A JPEG or PNG picture of the post; it is re-encoded without its metadata."),
    )
    eligible_grades = models.CharField(
        _("eligible grades"),
        max_length=3,
        default="123",
        help_text=_("Grades of senior high that may apply, e.g. 12 for grades 1 and 2."),
    )
    status = models.CharField(
        _("status"), max_length=16, choices=PostStatus.choices, default=PostStatus.DRAFT
    )
    self_check_in = models.BooleanField(
        _("self check-in"),
        default=True,
        help_text=_(
            "Students check themselves in and out with the rotating code of the session's "
            "check-in screen."
        ),
    )
    allows_walk_ins = models.BooleanField(
        _("walk-ins may check themselves in"),
        default=False,
        help_text=_(
            "A student who did not apply may check in with the code; the coordinator then "
            "confirms them on the roster."
        ),
    )
    # What the post is (students.models.PostKind); the safety policy says which need consent.
    off_site = models.BooleanField(
        _("off-site"),
        default=False,
        db_default=False,
        help_text=_("Students go somewhere other than the base's address."),
    )
    overnight = models.BooleanField(
        _("overnight stay"),
        default=False,
        db_default=False,
        help_text=_("Students stay overnight (学农, camps)."),
    )
    physical_risk = models.BooleanField(
        _("physical risk"),
        default=False,
        db_default=False,
        help_text=_("Work at heights, near water, with tools or heavy loads."),
    )
    safety_briefing = models.TextField(
        _("safety briefing"),
        blank=True,
        default="",
        db_default="",
        help_text=_(
            "If written, students read it and tick that they have understood it before applying."
        ),
    )
    # A district admin's exception to the safety policy's session hours, with its reason.
    hours_exception_reason = models.CharField(
        _("reason for the session hours exception"),
        max_length=300,
        blank=True,
        default="",
        db_default="",
    )
    hours_exception_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("session hours exception granted by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    hours_exception_at = models.DateTimeField(
        _("session hours exception granted at"), null=True, blank=True
    )
    review_note = models.TextField(_("review note"), blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reviewed by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = ChangeSignallingQuerySet.as_manager()

    class Meta:
        verbose_name = _("post")
        verbose_name_plural = _("posts")
        ordering = ["base", "title"]
        indexes = [models.Index(fields=["status", "base"])]
        constraints = [
            models.CheckConstraint(condition=~Q(title=""), name="post_title_not_empty"),
            models.CheckConstraint(
                condition=Q(status__in=PostStatus.values), name="post_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(eligible_grades__regex=GRADES_REGEX) & ~Q(eligible_grades=""),
                name="post_grades_format",
            ),
        ]

    def __str__(self):
        return f"{self.title} - {self.base}"

    @property
    def kinds(self) -> frozenset[str]:
        """What the post is, as `PostKind` values."""
        flags = {
            PostKind.OFF_SITE: self.off_site,
            PostKind.OVERNIGHT: self.overnight,
            PostKind.PHYSICAL_RISK: self.physical_risk,
        }
        return frozenset(str(kind) for kind, on in flags.items() if on)

    @property
    def kinds_display(self) -> list[str]:
        return [str(label) for value, label in PostKind.choices if value in self.kinds]

    @property
    def has_hours_exception(self) -> bool:
        return self.hours_exception_at is not None

    @property
    def briefing_digest(self) -> str:
        """SHA-256 of the safety briefing as written: which text a student acknowledged."""
        return hashlib.sha256(self.safety_briefing.encode()).hexdigest()

    @property
    def grades_display(self) -> str:
        return grades_display(self.eligible_grades)

    @property
    def picture(self) -> Picture:
        """The post's own picture, else its base's, else a drawing for its category."""
        if self.image:
            alt = gettext("Picture of %(title)s") % {"title": self.title}
            return Picture(url=self.image.url, alt=alt, placeholder=False)
        if self.base.image:
            alt = gettext("Picture of %(base)s") % {"base": self.base.name}
            return Picture(url=self.base.image.url, alt=alt, placeholder=False)
        code = self.category.code if self.category.code in PLACEHOLDER_CATEGORIES else "default"
        alt = gettext("Drawing for the category %(category)s") % {"category": self.category.name}
        return Picture(url=static(f"portal/placeholders/{code}.svg"), alt=alt, placeholder=True)


class Allocation(models.TextChoices):
    FIRST_COME = "first_come", _("First come, first served")
    LOTTERY = "lottery", _("Lottery")


class Session(models.Model):
    """A dated time slot of a post (场次) with a capacity."""

    post = models.ForeignKey(
        Post, verbose_name=_("post"), on_delete=models.CASCADE, related_name="sessions"
    )
    starts_at = models.DateTimeField(_("starts"))
    ends_at = models.DateTimeField(_("ends"))
    capacity = models.PositiveIntegerField(_("capacity"))
    taken = models.PositiveIntegerField(_("seats taken"), default=0)
    allocation = models.CharField(
        _("allocation"), max_length=16, choices=Allocation.choices, default=Allocation.FIRST_COME
    )
    applications_open_at = models.DateTimeField(_("applications open"))
    applications_close_at = models.DateTimeField(_("applications close"))
    cancel_cutoff_at = models.DateTimeField(_("cancellation cut-off"), null=True, blank=True)
    lottery_seed = models.BigIntegerField(_("lottery seed"), null=True, blank=True)
    lottery_drawn_at = models.DateTimeField(_("lottery drawn at"), null=True, blank=True)
    attendance_closed_at = models.DateTimeField(_("attendance closed at"), null=True, blank=True)
    attendance_closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("attendance closed by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # Called off by the base (typhoon, venue closed): applicants told, seats released.
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("cancelled by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    cancel_reason = models.CharField(
        _("reason for cancelling"), max_length=300, blank=True, db_default=""
    )

    objects = ChangeSignallingQuerySet.as_manager()

    class Meta:
        verbose_name = _("session")
        verbose_name_plural = _("sessions")
        ordering = ["starts_at", "id"]
        indexes = [
            models.Index(fields=["post", "starts_at"]),
            models.Index(fields=["starts_at"]),
            models.Index(fields=["ends_at", "attendance_closed_at"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(starts_at__lt=F("ends_at")), name="session_starts_before_end"
            ),
            models.CheckConstraint(condition=Q(capacity__gt=0), name="session_capacity_positive"),
            models.CheckConstraint(
                condition=Q(allocation__in=Allocation.values), name="session_allocation_valid"
            ),
            models.CheckConstraint(
                condition=Q(taken__lte=F("capacity")), name="session_taken_within_capacity"
            ),
            models.CheckConstraint(
                condition=Q(applications_open_at__lt=F("applications_close_at")),
                name="session_window_order",
            ),
            models.CheckConstraint(
                condition=Q(cancel_cutoff_at__isnull=True)
                | Q(cancel_cutoff_at__lte=F("starts_at")),
                name="session_cutoff_before_start",
            ),
        ]

    def __str__(self):
        return f"{self.post.title} {timezone.localtime(self.starts_at):%Y-%m-%d %H:%M}"

    @property
    def is_future(self) -> bool:
        return self.starts_at > timezone.now()

    @property
    def seats_left(self) -> int:
        return self.capacity - self.taken
