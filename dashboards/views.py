"""The home page, the role-based landing after login, and each role's dashboard.

Dashboards sit on the top floor and may read every app; everything else imports downward only.
"""

from datetime import datetime, time, timedelta

from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from bases.models import Application, ApplicationStatus, Base
from bases.selectors import (
    bases_of_coordinator,
    districts_with_counts,
    session_list_for_user,
    sessions_attendance_overdue,
)
from districts.selectors import district_list, district_of_admin
from portal.models import Role
from portal.notifications import notifications_latest
from portal.roles import dashboard_url_name, role_required
from students.guardians import children_of
from students.models import TeacherRole
from students.selectors import (
    progress_context,
    student_list_for_user,
    student_of_user,
    teacher_assignments_of_user,
)

from .contexts import (
    base_figures_context,
    base_review_export,
    city_base_use_context,
    city_dashboard_context,
    city_dashboard_export,
    district_base_use_context,
    district_bases,
    district_dashboard_context,
    district_dashboard_export,
    figures_school_year,
    school_dashboard_context,
    student_dashboard_context,
    teacher_dashboard_context,
)


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return render(
        request, "dashboards/home.html", {"districts": districts_with_counts(user=request.user)}
    )


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    return redirect(dashboard_url_name(request.user))


@login_required
def dashboard_none(request: HttpRequest) -> HttpResponse:
    return render(request, "dashboards/dashboard_none.html")


def _notifications(request: HttpRequest) -> dict:
    """The latest notifications and how many are unread; the rest are on their own page."""
    latest, unread = notifications_latest(request.user, 5)
    return {"notifications": latest, "unread_notifications": unread}


@role_required(Role.STUDENT)
def dashboard_student(request: HttpRequest) -> HttpResponse:
    """Progress bars, a chart by month, records with their state, sessions to come."""
    student = student_of_user(user=request.user)
    context = student_dashboard_context(student=student) if student else {}
    return render(
        request,
        "dashboards/dashboard_student.html",
        {"student": student, **_notifications(request), **context},
    )


@role_required(Role.GUARDIAN)
def dashboard_guardian(request: HttpRequest) -> HttpResponse:
    """Each child's progress, what waits for the guardian's consent, and the latest news."""
    children = [
        {"student": child, **progress_context(student=child)}
        for child in children_of(guardian=request.user)
    ]
    awaiting = Application.objects.filter(
        status=ApplicationStatus.AWAITING_CONSENT,
        student__in=student_list_for_user(user=request.user).order_by().values("pk"),
    ).count()
    return render(
        request,
        "dashboards/dashboard_guardian.html",
        {"children": children, "awaiting_consent": awaiting, **_notifications(request)},
    )


@role_required(Role.COORDINATOR)
def dashboard_coordinator(request: HttpRequest) -> HttpResponse:
    """The coordinator's bases, sessions still to close past the 24-hour rule, today's rosters."""
    today = timezone.localdate()
    day_start = timezone.make_aware(datetime.combine(today, time.min))
    return render(
        request,
        "dashboards/dashboard_coordinator.html",
        {
            "bases": bases_of_coordinator(user=request.user),
            "overdue_sessions": sessions_attendance_overdue(now=timezone.now()).filter(
                post__base__coordinators__user=request.user
            ),
            "today_sessions": session_list_for_user(user=request.user).filter(
                starts_at__lt=day_start + timedelta(days=1), ends_at__gt=day_start
            ),
            **_notifications(request),
        },
    )


@role_required(Role.HEAD_TEACHER)
def dashboard_teacher(request: HttpRequest) -> HttpResponse:
    assignments = (
        teacher_assignments_of_user(user=request.user)
        .filter(role=TeacherRole.HEAD_TEACHER)
        .annotate(student_count=Count("school_class__students", distinct=True))
    )
    return render(
        request,
        "dashboards/dashboard_teacher.html",
        {
            "assignments": assignments,
            **_notifications(request),
            **teacher_dashboard_context(assignments=assignments),
        },
    )


@role_required(Role.SCHOOL_ADMIN)
def dashboard_school(request: HttpRequest) -> HttpResponse:
    assignments = (
        teacher_assignments_of_user(user=request.user)
        .filter(role=TeacherRole.SCHOOL_ADMIN)
        .annotate(class_count=Count("school__classes", distinct=True))
    )
    return render(
        request,
        "dashboards/dashboard_school.html",
        {
            "assignments": assignments,
            **_notifications(request),
            **school_dashboard_context(assignments=assignments),
        },
    )


@role_required(Role.DISTRICT_ADMIN)
def dashboard_district(request: HttpRequest) -> HttpResponse:
    """Scope, rosters not closed in time, links to the reports; `?view=bases` shows bases' use,
    `?export=bases|overdue` downloads a table."""
    district = district_of_admin(user=request.user)
    overdue = sessions_attendance_overdue(now=timezone.now()).filter(
        post__base__district__admins__user=request.user
    )
    year = figures_school_year(request.GET.get("year"))
    if district is not None and request.GET.get("export") == "review":
        return base_review_export(
            user=request.user,
            bases=district_bases(district),
            target=district,
            name=district.code,
            year=year,
        )
    if district is not None and request.GET.get("view") == "figures":
        context = base_figures_context(
            request=request, bases=district_bases(district), scope_name=district.name, year=year
        )
        return render(request, "dashboards/base_figures.html", context)
    if district is not None and request.GET.get("export"):
        return district_dashboard_export(
            user=request.user, district=district, overdue=overdue, table=request.GET["export"]
        )
    if district is not None and request.GET.get("view") == "bases":
        return render(
            request, "dashboards/base_use.html", district_base_use_context(district=district)
        )
    return render(
        request,
        "dashboards/dashboard_district.html",
        {
            "district": district,
            "overdue_sessions": overdue,
            **_notifications(request),
            **(district_dashboard_context(overdue=overdue, district=district) if district else {}),
        },
    )


@role_required(Role.CITY_ADMIN)
def dashboard_city(request: HttpRequest) -> HttpResponse:
    """All districts and links to the reports; `?view=bases` shows bases' use by district."""
    year = figures_school_year(request.GET.get("year"))
    if request.GET.get("export") == "review":
        return base_review_export(
            user=request.user, bases=Base.objects.all(), target=request.user, name="city", year=year
        )
    if request.GET.get("view") == "figures":
        context = base_figures_context(
            request=request, bases=Base.objects.all(), scope_name=_("Shanghai"), year=year
        )
        return render(request, "dashboards/base_figures.html", context)
    if request.GET.get("export"):
        return city_dashboard_export(user=request.user, table=request.GET["export"])
    if request.GET.get("view") == "bases":
        return render(request, "dashboards/base_use.html", city_base_use_context())
    return render(
        request,
        "dashboards/dashboard_city.html",
        {**city_dashboard_context(districts=district_list()), **_notifications(request)},
    )
