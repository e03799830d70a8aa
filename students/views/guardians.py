"""A guardian's pages in the students app: signing up or linking a child with the school's
code, and a child's records (the progress and record pages are the student's own, opened with
the guardian as viewer)."""

from axes.helpers import get_client_ip_address
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters

from portal.models import Role
from portal.roles import role_required

from ..forms_guardians import GuardianLinkForm, GuardianSignUpForm
from ..guardians import GuardianError, guardian_link, guardian_sign_up
from ..models import PracticeRecord
from ..selectors import student_get_for_user
from .notice import records_page


def _ip(request: HttpRequest) -> str:
    return get_client_ip_address(request) or ""


@never_cache
@sensitive_post_parameters("code", "password1", "password2")
def guardian_sign_up_view(request: HttpRequest) -> HttpResponse:
    """The school's guardian code and the child's 学籍号 open a guardian account."""
    if request.user.is_authenticated and request.user.role == Role.GUARDIAN:
        return redirect("students:guardian-link")
    form = GuardianSignUpForm(request.POST or None, ip_address=_ip(request))
    if request.method == "POST" and form.is_valid():
        try:
            link = guardian_sign_up(
                code=form.guardian_code,
                username=form.cleaned_data["username"],
                full_name=form.cleaned_data["full_name"],
                password=form.cleaned_data["password1"],
            )
        except GuardianError as error:
            form.add_error("username" if error.code == "username_taken" else "code", error)
        except ValidationError as error:
            form.add_error("password1", error)
        else:
            login(request, link.guardian, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(
                request,
                _("Welcome. You now see the pages of %(name)s.") % {"name": link.student.name},
            )
            return redirect(settings.LOGIN_REDIRECT_URL)
    return render(
        request,
        "students/guardian_sign_up.html",
        {"form": form},
        status=400 if form.errors else 200,
    )


@never_cache
@sensitive_post_parameters("code")
@role_required(Role.GUARDIAN)
def guardian_link_view(request: HttpRequest) -> HttpResponse:
    """A further child linked with that child's code."""
    form = GuardianLinkForm(request.POST or None, ip_address=_ip(request))
    if request.method == "POST" and form.is_valid():
        try:
            link = guardian_link(code=form.guardian_code, guardian=request.user)
        except GuardianError as error:
            form.add_error("code", error)
        else:
            messages.success(
                request, _("%(name)s is now linked to your account.") % {"name": link.student.name}
            )
            return redirect("dashboards:dashboard-guardian")
    return render(
        request,
        "students/guardian_link.html",
        {"form": form},
        status=400 if form.errors else 200,
    )


@role_required(Role.GUARDIAN)
def guardian_child_records(request: HttpRequest, student_id: int) -> HttpResponse:
    """The child's records with their notice state, read-only; 404 for anyone else's child."""
    student = student_get_for_user(user=request.user, student_id=student_id)
    return records_page(request, PracticeRecord.objects.filter(student=student), student=student)
