"""Data the city admin edits: activity categories, organiser levels, the requirement and the
safety policy."""

from datetime import time

from django.db import models, transaction
from django.db.models import Q
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _


class OrganiserLevel(models.TextChoices):
    """Who organised an activity; a base's certification level is one of the first four."""

    CITY = "city", _("City-certified base")
    DISTRICT = "district", _("District-certified base")
    SCHOOL = "school", _("School-contracted base")
    PROJECT = "project", _("Social practice project")
    SCHOOL_OWN = "school_own", _("School-organised activity")
    OTHER = "other", _("Other platform")


class Category(models.Model):
    """An activity category (志愿服务, 社会考察, ...); data the city admin may edit."""

    code = models.SlugField(_("code"), max_length=32, unique=True)
    name_zh = models.CharField(_("Chinese name"), max_length=32)
    name_en = models.CharField(_("English name"), max_length=64)
    counts_as_volunteer_service = models.BooleanField(
        _("counts toward volunteer service hours"), default=False
    )
    sort_order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        verbose_name = _("activity category")
        verbose_name_plural = _("activity categories")
        ordering = ["sort_order", "code"]

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        """Saved; when it stops or starts counting as volunteer service, the totals of every
        student with a record of it are refreshed in the same transaction."""
        with transaction.atomic(using=kwargs.get("using")):
            changed = (
                self.pk is not None
                and type(self)
                .objects.filter(pk=self.pk)
                .exclude(counts_as_volunteer_service=self.counts_as_volunteer_service)
                .exists()
            )
            super().save(*args, **kwargs)
            if changed:
                from .ledger import _totals_refresh

                _totals_refresh(set(self.records.values_list("student_id", flat=True)))

    save.alters_data = True

    @property
    def name(self) -> str:
        return self.name_en if (get_language() or "").startswith("en") else self.name_zh


class RequirementPolicy(models.Model):
    """The requirement for students from an entry year on; never constants in code."""

    effective_from_entry_year = models.PositiveSmallIntegerField(
        _("effective from entry year"), unique=True
    )
    volunteer_hours_required = models.PositiveSmallIntegerField(
        _("volunteer service hours (学时) required"), default=60
    )
    practice_days_required = models.PositiveSmallIntegerField(
        _("social practice days required"), default=90
    )
    minutes_per_credit_hour = models.PositiveSmallIntegerField(
        _("minutes per credit hour"), default=40
    )
    notice_days = models.PositiveSmallIntegerField(_("public notice days"), default=7)
    attendance_deadline_hours = models.PositiveSmallIntegerField(
        _("hours to record attendance after a session"), default=24
    )
    scan_repeat_seconds = models.PositiveSmallIntegerField(
        _("seconds in which a second scan is already recorded"),
        default=60,
        help_text=_(
            "A scan of the same student at the same session within this many seconds of the "
            "last one is answered 'already recorded' instead of checking them out."
        ),
    )
    minimum_checkout_minutes = models.PositiveSmallIntegerField(
        _("minimum minutes before a check-out without confirmation"),
        default=10,
        help_text=_(
            "A check-out that would credit fewer minutes asks the coordinator to confirm on "
            "the roster; a student's own check-out is refused until then."
        ),
    )

    class Meta:
        verbose_name = _("requirement policy")
        verbose_name_plural = _("requirement policies")
        ordering = ["-effective_from_entry_year"]
        constraints = [
            models.CheckConstraint(
                condition=Q(minutes_per_credit_hour__gt=0), name="policy_minutes_positive"
            ),
            models.CheckConstraint(
                condition=Q(volunteer_hours_required__gt=0, practice_days_required__gt=0),
                name="policy_requirements_positive",
            ),
        ]

    def __str__(self):
        return _("Policy from entry year %(year)s") % {"year": self.effective_from_entry_year}


class ReliabilityPolicy(models.Model):
    """What no-shows and late cancellations cost (信誉), from a date on; never constants in code.

    A student's reliability starts at 100 and loses each no-show's and late cancellation's
    points, halved every `half_life_days`. `hold_no_shows` no-shows within `hold_window_days`
    send the student's new applications to the waiting list for `hold_days` from the last of
    them; in a lottery a held student's weight is multiplied by `held_lottery_factor`.
    """

    effective_from = models.DateField(_("effective from"), unique=True)
    late_cancel_hours = models.PositiveSmallIntegerField(
        _("hours before the start inside which a student's cancellation is late"), default=24
    )
    no_show_points = models.PositiveSmallIntegerField(_("points lost for a no-show"), default=10)
    late_cancel_points = models.PositiveSmallIntegerField(
        _("points lost for a late cancellation"), default=5
    )
    half_life_days = models.PositiveSmallIntegerField(
        _("days in which a lost point halves"), default=90
    )
    hold_no_shows = models.PositiveSmallIntegerField(
        _("no-shows that put a student on the waiting list only"), default=3
    )
    hold_window_days = models.PositiveSmallIntegerField(
        _("days within which those no-shows count"), default=90
    )
    hold_days = models.PositiveSmallIntegerField(
        _("days a student applies to the waiting list only"), default=30
    )
    held_lottery_factor = models.FloatField(
        _("lottery weight factor of a held-back student"),
        default=0.5,
        help_text=_("Multiplies the draw weight of a student held back; above 0, at most 1."),
    )
    session_cancel_late_hours = models.PositiveSmallIntegerField(
        _("hours before the start inside which a base's cancellation of a session is late"),
        default=48,
    )

    class Meta:
        verbose_name = _("reliability policy")
        verbose_name_plural = _("reliability policies")
        ordering = ["-effective_from"]
        constraints = [
            models.CheckConstraint(
                condition=Q(half_life_days__gt=0, hold_no_shows__gt=0, hold_window_days__gt=0),
                name="reliability_policy_periods_positive",
            ),
            models.CheckConstraint(
                condition=Q(held_lottery_factor__gt=0, held_lottery_factor__lte=1),
                name="reliability_policy_factor_in_range",
            ),
        ]

    def __str__(self):
        return _("Reliability policy from %(day)s") % {"day": self.effective_from}


class PostKind(models.TextChoices):
    """What a post is, as its coordinator says; the safety policy says which kinds need a
    guardian's consent."""

    OFF_SITE = "off_site", _("Off-site (away from the base's address)")
    OVERNIGHT = "overnight", _("Overnight stay (e.g. 学农)")
    PHYSICAL_RISK = "physical_risk", _("Physical risk (heights, water, tools, heavy work)")


class SafetyPolicy(models.Model):
    """Guards for minors, effective from a date: never constants in code.

    The policy in force on a day is the one with the latest `effective_from` on or before it
    (`students.policies.safety_policy_on`).
    """

    effective_from = models.DateField(_("effective from"), unique=True)
    session_earliest_start = models.TimeField(
        _("earliest start of a session"),
        default=time(7, 0),
        help_text=_("Local time (Asia/Shanghai) before which no session may start."),
    )
    session_latest_end = models.TimeField(
        _("latest end of a session"),
        default=time(21, 0),
        help_text=_("Local time (Asia/Shanghai) after which no session may end."),
    )
    daily_credit_minutes = models.PositiveSmallIntegerField(
        _("longest credited minutes per student in one day"),
        default=480,
        help_text=_(
            "Credit beyond this on one day, from every source together, is held for the "
            "school's review instead of being credited."
        ),
    )
    session_credit_minutes = models.PositiveSmallIntegerField(
        _("longest credited minutes of one session or record"),
        default=480,
        help_text=_("Credit of one record beyond this (per day it spans) is held for review."),
    )
    consent_off_site = models.BooleanField(_("off-site posts need guardian consent"), default=True)
    consent_overnight = models.BooleanField(
        _("overnight posts need guardian consent"), default=True
    )
    consent_physical_risk = models.BooleanField(
        _("posts with physical risk need guardian consent"), default=True
    )

    class Meta:
        verbose_name = _("safety policy")
        verbose_name_plural = _("safety policies")
        ordering = ["-effective_from"]
        constraints = [
            models.CheckConstraint(
                condition=Q(session_earliest_start__lt=models.F("session_latest_end")),
                name="safety_window_order",
            ),
            models.CheckConstraint(
                condition=Q(daily_credit_minutes__gt=0, session_credit_minutes__gt=0),
                name="safety_caps_positive",
            ),
        ]

    def __str__(self):
        return _("Safety policy from %(day)s") % {"day": self.effective_from.isoformat()}

    @property
    def consent_kinds(self) -> frozenset[str]:
        """The post kinds (`PostKind` values) that need a guardian's consent."""
        flags = {
            PostKind.OFF_SITE: self.consent_off_site,
            PostKind.OVERNIGHT: self.consent_overnight,
            PostKind.PHYSICAL_RISK: self.consent_physical_risk,
        }
        return frozenset(str(kind) for kind, needed in flags.items() if needed)
