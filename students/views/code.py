"""A student's personal code, shown as a QR the coordinator scans at check-in and check-out."""

import segno
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from portal.models import Role
from portal.roles import role_required

from ..selectors import student_of_user


def personal_code_svg(code: str, *, title: str) -> str:
    """The code as an inline SVG QR (drawn here, no network), sized by CSS."""
    return segno.make(code, error="m").svg_inline(
        scale=1, border=4, omitsize=True, title=title, svgclass="qr-svg"
    )


@never_cache
@role_required(Role.STUDENT)
def my_code(request: HttpRequest) -> HttpResponse:
    student = student_of_user(user=request.user)
    qr = None
    if student is not None:
        # segno escapes the title; the code is our own [A-Z0-9] value.
        qr = mark_safe(personal_code_svg(student.personal_code, title=_("My check-in code")))
    return render(request, "students/my_code.html", {"student": student, "qr": qr})
