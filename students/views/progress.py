"""A student's progress: bars, charts, breakdowns and records, for them and their teachers."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from portal.models import Role
from portal.roles import role_required

from ..selectors import progress_context, student_get_for_user

TEACHER_ROLES = (Role.HEAD_TEACHER, Role.SCHOOL_ADMIN, Role.DISTRICT_ADMIN, Role.CITY_ADMIN)


@require_GET
@role_required(*TEACHER_ROLES, Role.GUARDIAN)
def student_progress(request: HttpRequest, student_id: int) -> HttpResponse:
    student = student_get_for_user(user=request.user, student_id=student_id)
    context = progress_context(student=student)
    context.update(
        student=student,
        can_issue=request.user.role in (Role.HEAD_TEACHER, Role.SCHOOL_ADMIN),
        is_guardian=request.user.role == Role.GUARDIAN,
    )
    return render(request, "students/student_progress.html", context)
