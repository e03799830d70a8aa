"""What the role dashboards show about progress, bases' use and overdue rosters.

Each builder makes a fixed number of queries whatever the size of the scope; `students.reports`
and `students.progress` do the counting, `dashboards.reports` the figures that cross apps.
"""

from django.http import Http404, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tables2 import RequestConfig

from bases.base_review import base_figures, base_review_sheet
from bases.models import Base
from bases.reliability import student_reliability
from bases.tables import BaseFiguresTable
from districts.models import District
from portal.http import XLSX_CONTENT_TYPE, attachment_response
from portal.models import User
from portal.services import audit_log_record
from portal.spreadsheets import write_xlsx
from students.charts import Bar, Segment, completion_chart, forecast_legend, hbar_chart
from students.completion import (
    Completion,
    city_completion_tiles,
    completion_by,
    school_reports,
)
from students.models import Student
from students.progress import school_year_label, school_year_of
from students.selectors import progress_context

from .reports import (
    base_use_by_district,
    base_use_chart,
    base_use_for_district,
    base_use_header,
    base_use_legend,
    base_use_rows,
    export_state,
    overdue_counts_by_district,
    overdue_header,
    overdue_rows,
    records_with_export_state,
    school_year_period,
    upcoming_applications,
)

RECENT_RECORDS = 8


def _xlsx(content: bytes, filename: str) -> HttpResponse:
    return attachment_response(content, filename=filename, content_type=XLSX_CONTENT_TYPE)


def student_dashboard_context(*, student: Student) -> dict:
    """Progress, charts, records with their state (and whether exported), sessions to come."""
    context = progress_context(student=student, records=records_with_export_state(student=student))
    for record in context["records"]:
        record.export_state = export_state(record)
    context["recent_records"] = context["records"][:RECENT_RECORDS]
    context["upcoming"] = upcoming_applications(student=student, now=timezone.now())
    context["reliability"] = student_reliability(student_id=student.pk)
    return context


def teacher_dashboard_context(*, assignments) -> dict:
    """Each of the teacher's classes by state, linking to its report: five queries."""
    assignments = list(assignments)
    if not assignments:
        return {}
    groups = completion_by(
        Student.objects.filter(school_class__in=[a.school_class_id for a in assignments]),
        key_field="school_class_id",
        groups=[
            Completion(
                key=a.school_class_id,
                label=a.school_class.name,
                url=reverse("students:class-report", args=[a.school_class_id]),
            )
            for a in assignments
        ],
    )
    return {"class_groups": groups, "class_chart": completion_chart(groups), **_legend()}


def _legend() -> dict:
    return {"legend": forecast_legend()}


def school_dashboard_context(*, assignments) -> dict:
    """Completion by grade of the admin's school(s): five queries, however many schools."""
    reports = school_reports(
        schools=[assignment.school for assignment in assignments],
        class_url=lambda c: reverse("students:class-report", args=[c.pk]),
    )
    return {
        "school_reports": [
            {"report": report, "grade_chart": completion_chart(report.by_grade)}
            for report in reports
        ],
        **_legend(),
    }


def overdue_chart(sessions) -> dict:
    """Sessions with attendance not closed in time, counted by base."""
    counts: dict[str, int] = {}
    for session in sessions:
        counts[session.post.base.name] = counts.get(session.post.base.name, 0) + 1
    bars = [
        Bar(label=name, note=str(n), segments=[Segment(n, "seg-behind", str(n))])
        for name, n in sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    ]
    return hbar_chart(bars)


def district_dashboard_context(*, overdue, district: District) -> dict:
    """The overdue rosters as a chart (the list is read once, for the table too), and the
    district's completion from the last count of the city (see `city_completion_tiles`)."""
    tiles = city_completion_tiles()
    completion = tiles.by_district.get(district.pk)
    return {
        "overdue_chart": overdue_chart(overdue),
        "completion": completion,
        "completion_chart": completion_chart([completion]) if completion else None,
        "counted_at": tiles.counted_at,
        **_legend(),
    }


def city_dashboard_context(*, districts) -> dict:
    """Each district's tile with its completion figures and a small bar of its states."""
    tiles = city_completion_tiles()
    return {
        "districts": districts,
        "district_tiles": [(d, tiles.by_district.get(d.pk)) for d in districts],
        "counted_at": tiles.counted_at,
        **_legend(),
    }


def district_base_use_context(*, district: District) -> dict:
    """Bases' use of the district this school year: three queries."""
    start, end, period = school_year_period()
    use = base_use_for_district(district=district, start=start, end=end)
    return {
        "scope_name": district.name,
        "first": _("Base"),
        "base_use": use,
        "base_use_chart": base_use_chart(use),
        "base_use_legend": base_use_legend(),
        "period": period,
        "with_overdue": False,
    }


def city_base_use_context() -> dict:
    """Bases' use and overdue rosters by district this school year: five queries."""
    start, end, period = school_year_period()
    use = base_use_by_district(start=start, end=end)
    overdue = overdue_counts_by_district(now=timezone.now())
    for row in use:
        row.overdue = overdue.get(row.key, 0)
    return {
        "scope_name": _("Shanghai"),
        "first": _("District"),
        "base_use": use,
        "base_use_chart": base_use_chart(sorted(use, key=lambda g: -g.offered)),
        "base_use_legend": base_use_legend(),
        "overdue_total": sum(overdue.values()),
        "period": period,
        "with_overdue": True,
    }


def district_dashboard_export(
    *, user: User, district: District, overdue, table: str
) -> HttpResponse:
    """One table of the district dashboard as xlsx: `bases` or `overdue`."""
    if table == "bases":
        start, end, period = school_year_period()
        use = base_use_for_district(district=district, start=start, end=end)
        content = write_xlsx(base_use_rows(use), base_use_header(_("Base")), period)
    elif table == "overdue":
        content = write_xlsx(overdue_rows(overdue), overdue_header(), _("Overdue"))
    else:
        raise Http404
    audit_log_record(actor=user, action=f"report.district.{table}.xlsx", target=district, data={})
    return _xlsx(content, f"district-{district.code}-{table}.xlsx")


def city_dashboard_export(*, user: User, table: str) -> HttpResponse:
    """The bases' use by district as xlsx, with the overdue rosters of each."""
    if table != "bases":
        raise Http404
    start, end, period = school_year_period()
    use = base_use_by_district(start=start, end=end)
    overdue = overdue_counts_by_district(now=timezone.now())
    rows = ([*row, overdue.get(g.key, 0)] for g, row in zip(use, base_use_rows(use), strict=True))
    content = write_xlsx(rows, [*base_use_header(_("District")), _("Sessions overdue")], period)
    audit_log_record(actor=user, action=f"report.city.{table}.xlsx", target=user, data={})
    return _xlsx(content, f"city-{table}.xlsx")


# ------------------------------------------------------------------------------
# Bases' figures (基地年度考核): a sortable table and the annual review sheet
# ------------------------------------------------------------------------------
FIGURES_PER_PAGE = 50
FIGURES_YEARS_SHOWN = 4


def figures_school_year(value: str | None) -> int:
    """`?year=` as a school year's first calendar year; the current one when absent or wrong."""
    current = school_year_of(timezone.localdate())
    try:
        year = int(value) if value else current
    except ValueError:
        return current
    return year if current - 20 <= year <= current else current


def base_figures_context(*, request, bases, scope_name: str, year: int) -> dict:
    """The bases' figures of a school year as a sortable, paged table: six queries."""
    rules, figures = base_figures(bases=bases, year=year)
    table = BaseFiguresTable(figures)
    RequestConfig(request, paginate={"per_page": FIGURES_PER_PAGE}).configure(table)
    current = school_year_of(timezone.localdate())
    return {
        "scope_name": scope_name,
        "rules": rules,
        "table": table,
        "years": [
            (y, school_year_label(y)) for y in range(current, current - FIGURES_YEARS_SHOWN, -1)
        ],
    }


def base_review_export(*, user: User, bases, target, name: str, year: int) -> HttpResponse:
    """The annual base review sheet of a scope (a district, or the city) for a school year."""
    rules, figures = base_figures(bases=bases, year=year)
    audit_log_record(
        actor=user, action="report.base_review.xlsx", target=target, data={"year": year}
    )
    return _xlsx(base_review_sheet(rules=rules, figures=figures), f"base-review-{name}-{year}.xlsx")


def district_bases(district: District):
    return Base.objects.filter(district=district)
