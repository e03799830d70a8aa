"""Consent pages: the school admin's (applications waiting for a paper form) and the
guardian's own (consent given in the portal); both call `bases.services.consent`."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from portal.models import Role, User
from portal.roles import role_required
from students.selectors import student_list_for_user

from ..errors import BaseError
from ..models import Application, ApplicationStatus, ConsentVia, GuardianConsent
from ..services.consent import guardian_consent_record, guardian_consent_withdraw

PER_PAGE = 20


def _awaiting(user: User):
    return (
        Application.objects.filter(
            status=ApplicationStatus.AWAITING_CONSENT,
            student__in=student_list_for_user(user=user).order_by().values("pk"),
        )
        .select_related("student__school_class__school", "session__post__base")
        .order_by("session__starts_at", "pk")
    )


def _consents(user: User):
    return (
        GuardianConsent.objects.filter(
            withdrawn_at__isnull=True,
            student__in=student_list_for_user(user=user).order_by().values("pk"),
        )
        .select_related("student__school_class", "post__base", "recorded_by")
        .order_by("-given_at", "-pk")
    )


@role_required(Role.SCHOOL_ADMIN)
def consents_awaiting(request: HttpRequest) -> HttpResponse:
    awaiting = Paginator(_awaiting(request.user), PER_PAGE).get_page(request.GET.get("page"))
    consents = Paginator(_consents(request.user), PER_PAGE).get_page(request.GET.get("given"))
    return render(request, "bases/consents_awaiting.html", {"page": awaiting, "consents": consents})


@require_POST
@role_required(Role.SCHOOL_ADMIN)
def consent_record_view(request: HttpRequest, application_id: int) -> HttpResponse:
    application = get_object_or_404(_awaiting(request.user), pk=application_id)
    try:
        guardian_consent_record(
            student=application.student, post=application.session.post, recorded_by=request.user
        )
    except BaseError as error:
        messages.error(request, " ".join(error.messages))
    else:
        application.refresh_from_db()
        messages.success(
            request,
            _("Consent recorded for %(name)s: the application is now %(status)s.")
            % {"name": application.student.name, "status": application.get_status_display()},
        )
    return redirect("bases:consents-awaiting")


@require_POST
@role_required(Role.SCHOOL_ADMIN)
def consent_withdraw_view(request: HttpRequest, consent_id: int) -> HttpResponse:
    return _withdraw(request, consent_id, back_to="bases:consents-awaiting")


def _withdraw(request: HttpRequest, consent_id: int, *, back_to: str) -> HttpResponse:
    """Withdraw a consent the user may see (the school's, or a guardian's own children's)."""
    consent = get_object_or_404(_consents(request.user), pk=consent_id)
    try:
        guardian_consent_withdraw(consent=consent, withdrawn_by=request.user)
    except BaseError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request,
            _("Consent withdrawn for %(name)s; their applications for %(title)s wait again.")
            % {"name": consent.student.name, "title": consent.post.title},
        )
    return redirect(back_to)


# ------------------------------------------------------------------------------
# The guardian's own consent page: the same service, given_via=guardian
# ------------------------------------------------------------------------------
# `student_list_for_user` keeps a guardian to their own children, so `_awaiting` and
# `_consents` serve both pages.
@role_required(Role.GUARDIAN)
def guardian_consents(request: HttpRequest) -> HttpResponse:
    """What waits for the guardian's consent, and the consents given, with a way to withdraw."""
    awaiting = Paginator(_awaiting(request.user), PER_PAGE).get_page(request.GET.get("page"))
    consents = Paginator(_consents(request.user), PER_PAGE).get_page(request.GET.get("given"))
    return render(request, "bases/guardian_consents.html", {"page": awaiting, "consents": consents})


@require_POST
@role_required(Role.GUARDIAN)
def guardian_consent_give_view(request: HttpRequest, application_id: int) -> HttpResponse:
    application = get_object_or_404(_awaiting(request.user), pk=application_id)
    try:
        guardian_consent_record(
            student=application.student,
            post=application.session.post,
            recorded_by=request.user,
            given_via=ConsentVia.GUARDIAN,
        )
    except BaseError as error:
        messages.error(request, " ".join(error.messages))
    else:
        application.refresh_from_db()
        messages.success(
            request,
            _("Thank you. Consent given for %(name)s: the application is now %(status)s.")
            % {"name": application.student.name, "status": application.get_status_display()},
        )
    return redirect("bases:guardian-consents")


@require_POST
@role_required(Role.GUARDIAN)
def guardian_consent_withdraw_view(request: HttpRequest, consent_id: int) -> HttpResponse:
    return _withdraw(request, consent_id, back_to="bases:guardian-consents")
