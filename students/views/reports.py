"""Progress reports: a class (with xlsx and PDF), a school, a district and the city."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET
from django_filters.views import FilterView

from districts.selectors import district_get_for_user
from portal.http import PDF_CONTENT_TYPE, XLSX_CONTENT_TYPE, attachment_response
from portal.models import Role
from portal.roles import role_required
from portal.services import audit_log_record

from ..charts import completion_chart, forecast_legend
from ..completion import (
    city_report,
    completion_total,
    completion_xlsx,
    district_report,
    school_report,
)
from ..filters import ClassReportFilter
from ..models import SchoolClass
from ..reports import (
    DEFAULT_SORT,
    ClassReport,
    class_report,
    class_report_xlsx,
    class_students,
    render_class_report_pdf,
)
from ..selectors import (
    school_class_get_for_user,
    school_get_for_user,
    student_search_in_school,
)
from ..tables import class_report_table
from ..transfers.selectors import students_transferred_out

CLASS_ROLES = (Role.HEAD_TEACHER, Role.SCHOOL_ADMIN, Role.DISTRICT_ADMIN, Role.CITY_ADMIN)
SCHOOL_ROLES = (Role.SCHOOL_ADMIN, Role.DISTRICT_ADMIN, Role.CITY_ADMIN)
DISTRICT_ROLES = (Role.DISTRICT_ADMIN, Role.CITY_ADMIN)


# ------------------------------------------------------------------------------
# The class report
# ------------------------------------------------------------------------------
@method_decorator(role_required(*CLASS_ROLES), name="dispatch")
class ClassReportView(FilterView):
    """Every student of a class with 学时, days, per-category days and state; sortable."""

    filterset_class = ClassReportFilter
    template_name = "students/class_report.html"

    def get_queryset(self):
        self.school_class = school_class_get_for_user(
            user=self.request.user, school_class_id=self.kwargs["class_id"]
        )
        return class_students(self.school_class)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        # The counts are always the whole class's; the keyword and the state narrow the rows.
        everyone = class_report(school_class=self.school_class)
        chosen = everyone.only(self.object_list) if self.filterset.narrows else everyone
        sort = self.request.GET.get("sort") or DEFAULT_SORT
        report = chosen.filtered(self.filterset.chosen_state).sorted(sort)
        query = self.request.GET.copy()
        query.pop("state", None)
        context.update(
            school_class=self.school_class,
            report=report,
            table=class_report_table(report, query=self.request.GET, sort=sort),
            counts=everyone.counts(),
            query=self.request.GET.urlencode(),
            query_without_state=query.urlencode(),
            can_print=self.request.user.role in (Role.HEAD_TEACHER, Role.SCHOOL_ADMIN),
            transferred_out=students_transferred_out(
                school=self.school_class.school, school_class=self.school_class
            ),
        )
        return context


class_report_view = ClassReportView.as_view()


def _class_report_for_export(request: HttpRequest, class_id: int) -> ClassReport:
    """The report as the page shows it: same filters, same order."""
    school_class = school_class_get_for_user(user=request.user, school_class_id=class_id)
    filterset = ClassReportFilter(request.GET, queryset=class_students(school_class))
    report = class_report(school_class=school_class, students=filterset.qs)
    return report.filtered(filterset.chosen_state).sorted(request.GET.get("sort") or DEFAULT_SORT)


def _audit_export(request: HttpRequest, report: ClassReport, kind: str) -> None:
    audit_log_record(
        actor=request.user,
        action=f"report.class.{kind}",
        target=report.school_class,
        data={"rows": len(report.rows), "query": request.GET.urlencode()},
    )


def _class_filename(school_class: SchoolClass, extension: str) -> str:
    stamp = timezone.localdate().isoformat()
    return (
        f"class-report-{school_class.school.code}-{school_class.entry_year}-"
        f"{school_class.number}-{stamp}.{extension}"
    )


@require_GET
@role_required(*CLASS_ROLES)
def class_report_xlsx_view(request: HttpRequest, class_id: int) -> HttpResponse:
    report = _class_report_for_export(request, class_id)
    _audit_export(request, report, "xlsx")
    return attachment_response(
        class_report_xlsx(report),
        filename=_class_filename(report.school_class, "xlsx"),
        content_type=XLSX_CONTENT_TYPE,
    )


@require_GET
@role_required(*CLASS_ROLES)
def class_report_pdf_view(request: HttpRequest, class_id: int) -> HttpResponse:
    report = _class_report_for_export(request, class_id)
    _audit_export(request, report, "pdf")
    return attachment_response(
        render_class_report_pdf(report),
        filename=_class_filename(report.school_class, "pdf"),
        content_type=PDF_CONTENT_TYPE,
    )


# ------------------------------------------------------------------------------
# School, district, city
# ------------------------------------------------------------------------------
def _class_url(school_class) -> str:
    return reverse("students:class-report", args=[school_class.pk])


def _school_url(school) -> str:
    return reverse("students:school-report", args=[school.pk])


def _district_url(district) -> str:
    return reverse("students:district-report", args=[district.pk])


@require_GET
@role_required(*SCHOOL_ROLES)
def school_report_view(request: HttpRequest, school_id: int) -> HttpResponse:
    school = school_get_for_user(user=request.user, school_id=school_id)
    report = school_report(school=school, class_url=_class_url)
    if request.GET.get("format") == "xlsx":
        by_grade = request.GET.get("by") == "grade"
        groups = report.by_grade if by_grade else report.by_class
        audit_log_record(actor=request.user, action="report.school.xlsx", target=school, data={})
        return attachment_response(
            completion_xlsx(
                [*groups, report.total],
                first=_("Grade") if by_grade else _("Class"),
                title=school.name,
            ),
            filename=f"school-report-{school.code}-{'grade' if by_grade else 'class'}.xlsx",
            content_type=XLSX_CONTENT_TYPE,
        )
    return render(
        request,
        "students/school_report.html",
        {
            "school": school,
            "report": report,
            "student_query": request.GET.get("student", "").strip()[:64],
            "found": student_search_in_school(
                school=school, text=request.GET.get("student", "")[:64]
            ),
            "class_chart": completion_chart(report.by_class),
            "grade_chart": completion_chart(report.by_grade),
            "legend": forecast_legend(),
            "transferred_out": students_transferred_out(school=school),
        },
    )


@require_GET
@role_required(*DISTRICT_ROLES)
def district_report_view(request: HttpRequest, district_id: int) -> HttpResponse:
    district = district_get_for_user(user=request.user, district_id=district_id)
    groups = district_report(district=district, school_url=_school_url)
    total = completion_total(groups, _("District"))
    if request.GET.get("format") == "xlsx":
        audit_log_record(
            actor=request.user, action="report.district.xlsx", target=district, data={}
        )
        return attachment_response(
            completion_xlsx([*groups, total], first=_("School"), title=district.name),
            filename=f"district-report-{district.code}.xlsx",
            content_type=XLSX_CONTENT_TYPE,
        )
    return render(
        request,
        "students/district_report.html",
        {
            "district": district,
            "groups": groups,
            "total": total,
            "chart": completion_chart(groups),
            "legend": forecast_legend(),
        },
    )


@require_GET
@role_required(Role.CITY_ADMIN)
def city_report_view(request: HttpRequest) -> HttpResponse:
    groups = city_report(district_url=_district_url)
    total = completion_total(groups, _("Shanghai"))
    if request.GET.get("format") == "xlsx":
        audit_log_record(
            actor=request.user, action="report.city.xlsx", target=request.user, data={}
        )
        return attachment_response(
            completion_xlsx([*groups, total], first=_("District"), title=_("Shanghai")),
            filename="city-report.xlsx",
            content_type=XLSX_CONTENT_TYPE,
        )
    return render(
        request,
        "students/city_report.html",
        {
            "groups": groups,
            "total": total,
            "chart": completion_chart(groups),
            "legend": forecast_legend(),
        },
    )
