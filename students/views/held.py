"""Minutes held for review: the school admin or head teacher credits or rejects them."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from portal.models import Role
from portal.roles import role_required

from ..forms import HeldDecisionForm
from ..selectors import record_list_held_for_user
from ..services import LedgerError, practice_record_held_reject, practice_record_held_release

HELD_PER_PAGE = 25
REVIEW_ROLES = (Role.SCHOOL_ADMIN, Role.HEAD_TEACHER)


def _render(request: HttpRequest, *, form=None, form_for=None, status=200) -> HttpResponse:
    page = Paginator(record_list_held_for_user(user=request.user), HELD_PER_PAGE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "students/held_review.html",
        {"page": page, "form": form, "form_for": form_for},
        status=status,
    )


@role_required(*REVIEW_ROLES)
def held_review(request: HttpRequest) -> HttpResponse:
    return _render(request)


@require_POST
@role_required(*REVIEW_ROLES)
def held_decide(request: HttpRequest, record_id: int) -> HttpResponse:
    record = get_object_or_404(record_list_held_for_user(user=request.user), pk=record_id)
    form = HeldDecisionForm(request.POST)
    if form.is_valid():
        decide = (
            practice_record_held_release
            if form.cleaned_data["decision"] == HeldDecisionForm.RELEASE
            else practice_record_held_reject
        )
        try:
            decide(record=record, decided_by=request.user, reason=form.cleaned_data["reason"])
        except LedgerError as error:
            form.add_error(None, error)
        else:
            done = (
                _("%(minutes)s minutes of %(name)s credited.")
                if form.cleaned_data["decision"] == HeldDecisionForm.RELEASE
                else _("%(minutes)s minutes of %(name)s rejected.")
            )
            messages.success(
                request, done % {"minutes": record.held_minutes, "name": record.student.name}
            )
            return redirect("students:held-review")
    return _render(request, form=form, form_for=record.pk, status=400)
