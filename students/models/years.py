"""The turn of the school year: which year was closed, on what date, and for whom."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class SchoolYearClose(models.Model):
    """The close of one school year (e.g. 2026-2027, closed on 2027-07-01) across the city.

    The students of that year's third grade (entry year `graduating_entry_year`) graduate: their
    records in notice become final (and go out in the next export), and their logins are
    disabled `grace_days` after the close; their records, certificates and verification pages
    stay. Grades and requirement policies follow from the entry years and the date by
    themselves; nothing else moves.
    """

    #: The calendar year the school year began in: 2026 for 2026-2027.
    school_year = models.PositiveIntegerField(_("school year"), unique=True)
    closed_on = models.DateField(_("closed on"))
    graduating_entry_year = models.PositiveIntegerField(_("graduating entry year"))
    grace_days = models.PositiveIntegerField(_("days before graduates' logins are disabled"))
    logins_disable_on = models.DateField(_("graduates' logins disabled on"))
    logins_disabled_at = models.DateTimeField(_("logins disabled at"), null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("closed by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    graduates = models.PositiveIntegerField(_("graduates"), default=0)
    records_finalised = models.PositiveIntegerField(_("records made final"), default=0)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("school year close")
        verbose_name_plural = _("school year closes")
        ordering = ["-school_year"]
        constraints = [
            models.CheckConstraint(
                condition=Q(graduating_entry_year=models.F("school_year") - 2),
                name="school_year_close_graduating_cohort",
            ),
        ]

    def __str__(self):
        return f"{self.school_year}-{self.school_year + 1}"
