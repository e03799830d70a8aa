"""The portal's public information pages: how the requirement works, and the privacy policy.

The figures on them are read from where the portal keeps them (the requirement policy rows and
the categories; the retention settings), so a changed policy changes the page too.
"""

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from students.models import Category
from students.policies import PolicyBook
from students.selectors import student_of_user


@require_GET
def help_page(request: HttpRequest) -> HttpResponse:
    book = PolicyBook()
    student = student_of_user(user=request.user) if request.user.is_authenticated else None
    policy = None
    if book.policies:
        if student is not None:
            policy = book.for_entry_year(student.school_class.entry_year)
        else:
            policy = book.policies[-1]
    categories = list(Category.objects.all())
    return render(
        request,
        "dashboards/help.html",
        {
            "policy": policy,
            "policies": book.policies,
            "student": student,
            "volunteer_categories": [c for c in categories if c.counts_as_volunteer_service],
            "other_categories": [c for c in categories if not c.counts_as_volunteer_service],
        },
    )


@require_GET
def privacy_page(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "dashboards/privacy.html",
        {
            "records_years": settings.RETENTION_RECORDS_YEARS_AFTER_GRADUATION,
            "login_grace_days": settings.SCHOOL_YEAR_LOGIN_GRACE_DAYS,
            "audit_years": settings.RETENTION_AUDIT_LOG_YEARS,
        },
    )
