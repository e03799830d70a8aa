import django_tables2 as tables
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

FORECAST_BADGE = {"done": "ok", "on_track": "info", "at_risk": "warn", "behind": "bad"}


def _figure_with_bar(value, required, done: bool, percent: int):
    """`30.4 / 60` with a small progress bar under it, green once the requirement is met."""
    return format_html(
        '{} <span class="muted small">/ {}</span>'
        '<span class="progress mini{}"><span data-width="{}"></span></span>',
        value,
        required,
        " ok" if done else "",
        percent,
    )


class ClassReportTable(tables.Table):
    """The class report: one row per student, sortable; category columns added per category."""

    name = tables.Column(
        verbose_name=_("Name"), attrs={"td": {"class": "cell-title"}, "th": {"class": "cell-title"}}
    )
    student_number = tables.Column(
        verbose_name=_("Student number"), attrs={"td": {"data-label": _("Student number")}}
    )
    credit_hours = tables.Column(
        verbose_name=_("Credit hours"),
        order_by=("progress__volunteer_minutes",),
        attrs={"td": {"class": "num wide", "data-label": _("Credit hours")}},
    )
    practice_days = tables.Column(
        verbose_name=_("Practice days"),
        attrs={"td": {"class": "num wide", "data-label": _("Practice days")}},
    )
    disputed = tables.Column(
        verbose_name=_("Disputed"), attrs={"td": {"class": "num", "data-label": _("Disputed")}}
    )
    forecast = tables.Column(
        verbose_name=_("State"),
        order_by=("forecast_rank", "progress__volunteer_minutes"),
        attrs={"td": {"class": "state", "data-label": _("State")}, "th": {"class": "state"}},
    )

    class Meta:
        attrs = {"class": "listing report", "data-testid": "class-report-table"}
        row_attrs = {"data-student": lambda record: record.student_number}
        empty_text = _("No students match these filters.")
        template_name = "django_tables2/table.html"
        order_by = "student_number"
        sequence = ("name", "student_number", "credit_hours", "practice_days", "...")

    def __init__(self, data, *, categories, **kwargs):
        extra = [
            (
                f"category_{category.code}",
                tables.Column(
                    verbose_name=_("%(category)s (days)") % {"category": category.name},
                    accessor=f"categories__{category.code}__days",
                    attrs={
                        "td": {
                            "class": lambda value: "num cat" + ("" if value else " zero"),
                            "data-label": category.name,
                        }
                    },
                ),
            )
            for category in categories
        ]
        super().__init__(data, extra_columns=extra, **kwargs)
        self.sequence = [
            "name",
            "student_number",
            "credit_hours",
            "practice_days",
            *[name for name, _ in extra],
            "disputed",
            "forecast",
        ]

    def render_name(self, record):
        return format_html(
            '<a href="{}">{}</a>',
            reverse("students:student-progress", args=[record.student.pk]),
            record.name,
        )

    def render_credit_hours(self, record):
        p = record.progress
        return _figure_with_bar(p.credit_hours, p.hours_required, p.hours_done, p.hours_percent)

    def render_practice_days(self, record):
        p = record.progress
        return _figure_with_bar(p.practice_days, p.days_required, p.days_done, p.days_percent)

    def render_forecast(self, record):
        return format_html(
            '<span class="badge {}" data-testid="forecast">{}</span>',
            FORECAST_BADGE[record.forecast],
            record.progress.forecast_label,
        )
