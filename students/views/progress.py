"""A student's progress: bars, charts, breakdowns and records, for them and their teachers."""

from datetime import date

from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils import timezone
from django.views.decorators.http import require_GET

from portal.models import Role
from portal.roles import role_required

from ..charts import last_months, month_charts
from ..models import Category, PracticeRecord, Student
from ..progress import (
    Tally,
    credit_hours,
    progress_from_records,
    school_year_label,
)
from ..selectors import student_get_for_user

TEACHER_ROLES = (Role.HEAD_TEACHER, Role.SCHOOL_ADMIN, Role.DISTRICT_ADMIN, Role.CITY_ADMIN)


def student_records(student: Student) -> QuerySet[PracticeRecord]:
    """All of a student's records, newest first, with their category."""
    return (
        PracticeRecord.objects.filter(student=student)
        .select_related("category")
        .order_by("-started_at", "-id")
    )


def progress_context(
    *, student: Student, records: QuerySet[PracticeRecord] | None = None, today: date | None = None
) -> dict:
    """What the progress partials show, in three queries: records, policies, categories.

    `records` (all of the student's, with their category) may carry annotations for the page.
    """
    today = today or timezone.localdate()
    records = list(student_records(student) if records is None else records)
    progress = progress_from_records(student=student, records=records, today=today)
    per_hour = progress.minutes_per_credit_hour
    categories = [
        {
            "category": category,
            "tally": progress.category(category.pk),
            "hours": credit_hours(progress.category(category.pk).volunteer_minutes, per_hour),
        }
        for category in Category.objects.order_by("sort_order", "code")
    ]
    first_year = student.school_class.entry_year
    months = last_months(today)
    years = [
        {
            "label": school_year_label(year),
            "grade": year - first_year + 1,
            "tally": progress.by_school_year.get(year, Tally()),
            "hours": credit_hours(
                progress.by_school_year.get(year, Tally()).volunteer_minutes, per_hour
            ),
        }
        for year in sorted({first_year, first_year + 1, first_year + 2, *progress.by_school_year})
    ]
    days_chart, hours_chart = month_charts(progress, today)
    return {
        "progress": progress,
        "category_rows": categories,
        "year_rows": years,
        "chart_from": date(months[0][0], months[0][1] + 1, 1),
        "chart_until": today,
        "days_chart": days_chart,
        "hours_chart": hours_chart,
        "records": records,
    }


@require_GET
@role_required(*TEACHER_ROLES)
def student_progress(request: HttpRequest, student_id: int) -> HttpResponse:
    student = student_get_for_user(user=request.user, student_id=student_id)
    context = progress_context(student=student)
    context.update(
        student=student,
        can_issue=request.user.role in (Role.HEAD_TEACHER, Role.SCHOOL_ADMIN),
    )
    return render(request, "students/student_progress.html", context)


urlpatterns = [
    path("reports/students/<int:student_id>/", student_progress, name="student-progress"),
]
