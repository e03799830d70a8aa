"""Reliability (信誉) for the people it concerns: a head teacher's class with the lift, and a
base's figures for its coordinator with the annual review sheet."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from portal.http import XLSX_CONTENT_TYPE, attachment_response
from portal.models import Role
from portal.roles import role_required
from portal.services import audit_log_record
from students.models import Student, TeacherRole
from students.progress import school_year_label, school_year_of
from students.selectors import school_class_list_for_user, student_get_for_user

from ..base_review import base_figures as base_figures_for
from ..base_review import base_review_sheet
from ..errors import BaseError
from ..forms import ReasonForm
from ..models import Base
from ..reliability import reliability_for_students
from ..selectors import bases_of_coordinator
from ..services.reliability import reliability_hold_lift


def _own_classes(request: HttpRequest):
    return school_class_list_for_user(user=request.user).filter(
        teacher_assignments__user=request.user,
        teacher_assignments__role=TeacherRole.HEAD_TEACHER,
    )


@role_required(Role.HEAD_TEACHER)
def class_reliability(request: HttpRequest) -> HttpResponse:
    """The students of the teacher's classes, held back first, each with their figure."""
    students = list(
        Student.objects.filter(school_class__in=_own_classes(request), left_on__isnull=True)
        .select_related("school_class")
        .order_by("school_class__entry_year", "school_class__number", "name")
    )
    figures = reliability_for_students([s.pk for s in students])
    for student in students:
        student.reliability = figures[student.pk]
    students.sort(key=lambda s: (not s.reliability.held, s.reliability.score))
    return render(
        request,
        "bases/class_reliability.html",
        {"students": students},
    )


@require_POST
@role_required(Role.HEAD_TEACHER)
def student_hold_lift(request: HttpRequest, student_id: int) -> HttpResponse:
    student = student_get_for_user(user=request.user, student_id=student_id)
    form = ReasonForm(request.POST)
    if not form.is_valid():
        messages.error(request, form.errors["reason"][0])
        return redirect("bases:class-reliability")
    try:
        reliability_hold_lift(
            student=student, lifted_by=request.user, reason=form.cleaned_data["reason"]
        )
    except BaseError as error:
        messages.error(request, error.messages[0])
    else:
        messages.success(
            request,
            _("The hold on %(name)s is lifted; they were told.") % {"name": student.name},
        )
    return redirect("bases:class-reliability")


# ------------------------------------------------------------------------------
# A base's figures, for its coordinator
# ------------------------------------------------------------------------------
def _school_year(request: HttpRequest) -> int:
    """`?year=` (the school year's first calendar year), the current school year by default."""
    current = school_year_of(timezone.localdate())
    try:
        year = int(request.GET.get("year", current))
    except ValueError:
        return current
    return year if 2000 <= year <= current else current


def _own_base(request: HttpRequest, base_id: int):
    return get_object_or_404(bases_of_coordinator(user=request.user), pk=base_id)


@role_required(Role.COORDINATOR)
def base_figures(request: HttpRequest, base_id: int) -> HttpResponse:
    """The base's figures for a school year, as the annual review counts them."""
    base = _own_base(request, base_id)
    year = _school_year(request)
    rules, figures = base_figures_for(
        bases=Base.objects.filter(pk=base.pk), year=year, active_only=False
    )
    current = school_year_of(timezone.localdate())
    return render(
        request,
        "bases/base_figures.html",
        {
            "base": base,
            "rules": rules,
            "figures": figures[0],
            "years": [(y, school_year_label(y)) for y in range(current, current - 4, -1)],
        },
    )


@role_required(Role.COORDINATOR)
def base_review_download(request: HttpRequest, base_id: int) -> HttpResponse:
    """The base's annual review sheet (xlsx) for a school year."""
    base = _own_base(request, base_id)
    year = _school_year(request)
    rules, figures = base_figures_for(
        bases=Base.objects.filter(pk=base.pk), year=year, active_only=False
    )
    audit_log_record(
        actor=request.user, action="report.base_review.xlsx", target=base, data={"year": year}
    )
    return attachment_response(
        base_review_sheet(rules=rules, figures=figures),
        filename=f"base-review-{base.code}-{year}.xlsx",
        content_type=XLSX_CONTENT_TYPE,
    )
