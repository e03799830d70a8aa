"""The class report's table: header and rows prepared in one pass, for a plain template loop.

A class of 45 is 45 rows of a dozen cells. Each column's attributes are made once and each row's
cells once, here, so the template (`students/_class_report_table.html`) loops over the rows and
writes them out: django-tables2 inspected the signature of a callable for every cell, and a
template loop over the cells still took most of the page's time. The figures are numbers, so
only the name and the student number are escaped.
Sorting is `ClassReport.sorted`, which the page and its downloads share; a header links to the
page sorted by its column, the other way round when the page is sorted by it already.
"""

from dataclasses import dataclass

from django.http import QueryDict
from django.urls import reverse
from django.utils.html import escape, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from .progress import Forecast
from .reports import DEFAULT_SORT, ClassReport, ClassReportRow

FORECAST_BADGE = {"done": "ok", "on_track": "info", "at_risk": "warn", "behind": "bad"}


def _attrs(**attrs: str) -> SafeString:
    """` class="num" data-label="学时"`: the attributes given, in that order, escaped."""
    pairs = ((name.rstrip("_").replace("_", "-"), value) for name, value in attrs.items())
    return format_html_join("", ' {}="{}"', pairs)


def _figure_with_bar(value, required, done: bool, percent: int) -> SafeString:
    """`30.4 / 60` with a small progress bar under it, green once the requirement is met."""
    return SafeString(
        f'{value} <span class="muted small">/ {required}</span>'
        f'<span class="progress mini{" ok" if done else ""}">'
        f'<span data-width="{int(percent)}"></span></span>'
    )


@dataclass(frozen=True)
class Header:
    label: str
    attrs: SafeString  # its class: its own, "orderable", and "asc"/"desc" when sorted by it
    href: str  # "?sort=…", the page's other parameters kept


@dataclass(frozen=True)
class Row:
    attrs: SafeString
    cells: SafeString  # its <td>s


@dataclass(frozen=True)
class ClassReportTable:
    """The header, then a row per student; `empty_text` when there is none."""

    columns: list[Header]
    rows: list[Row]
    empty_text: str


class _Cells:
    """Each column's td attributes and the state badges, made once for all the rows."""

    def __init__(self, report: ClassReport):
        self.name = _attrs(class_="cell-title")
        self.student_number = _attrs(data_label=_("Student number"))
        self.credit_hours = _attrs(class_="num wide", data_label=_("Credit hours"))
        self.practice_days = _attrs(class_="num wide", data_label=_("Practice days"))
        # A category's cell with days, and without (hidden on a phone).
        self.categories = [
            (
                category.code,
                _attrs(class_="cat num", data_label=category.name),
                _attrs(class_="cat num zero", data_label=category.name),
            )
            for category in report.categories
        ]
        self.disputed = _attrs(class_="num", data_label=_("Disputed"))
        self.forecast = _attrs(class_="state", data_label=_("State"))
        self.badges = {
            state: SafeString(
                f'<span class="badge {FORECAST_BADGE[state]}" data-testid="forecast">'
                f"{escape(Forecast(state).label)}</span>"
            )
            for state in Forecast.values
        }

    def of(self, row: ClassReportRow) -> SafeString:
        p = row.progress
        url = reverse("students:student-progress", args=[row.student.pk])
        cells = [
            (self.name, f'<a href="{url}">{escape(row.name)}</a>'),
            (self.student_number, escape(row.student_number)),
            (
                self.credit_hours,
                _figure_with_bar(p.credit_hours, p.hours_required, p.hours_done, p.hours_percent),
            ),
            (
                self.practice_days,
                _figure_with_bar(p.practice_days, p.days_required, p.days_done, p.days_percent),
            ),
        ]
        for code, with_days, without in self.categories:
            days = int(row.categories[code].days)
            cells.append((with_days if days else without, days))
        cells.append((self.disputed, int(row.disputed)))
        cells.append((self.forecast, self.badges[row.forecast]))
        return SafeString("".join(f"<td{attrs}>{content}</td>" for attrs, content in cells))


def class_report_table(report: ClassReport, *, query: QueryDict, sort: str) -> ClassReportTable:
    """The table of `report`, whose rows are already in the order `sort` names."""
    sort = sort if report.sort_key(sort) else DEFAULT_SORT
    # (column, header, the th's own class): every column sorts the page.
    headers = [
        ("name", _("Name"), "cell-title"),
        ("student_number", _("Student number"), ""),
        ("credit_hours", _("Credit hours"), ""),
        ("practice_days", _("Practice days"), ""),
        *(
            (f"category_{c.code}", _("%(category)s (days)") % {"category": c.name}, "")
            for c in report.categories
        ),
        ("disputed", _("Disputed"), ""),
        ("forecast", _("State"), "state"),
    ]
    cells = _Cells(report)
    return ClassReportTable(
        columns=[_header(*header, query=query, sort=sort) for header in headers],
        rows=[
            Row(
                _attrs(data_student=row.student_number, class_="odd" if i % 2 else "even"),
                cells.of(row),
            )
            for i, row in enumerate(report.rows)
        ],
        empty_text=_("No students match these filters."),
    )


def _header(name: str, label: str, own_class: str, *, query: QueryDict, sort: str) -> Header:
    classes = {"orderable", *own_class.split()}
    following = name
    if sort.lstrip("-") == name:
        descending = sort.startswith("-")
        classes.add("desc" if descending else "asc")
        following = name if descending else f"-{name}"
    params = query.copy()
    params["sort"] = following
    return Header(label, _attrs(class_=" ".join(sorted(classes))), f"?{params.urlencode()}")
