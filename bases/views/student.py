"""A student's applications: apply, join the waiting list, cancel, see them all."""

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from portal.models import Role
from portal.roles import role_required
from students.selectors import student_of_user

from ..errors import BaseError
from ..models import LIVE_STATUSES, ApplicationStatus
from ..reliability import student_reliability
from ..selectors import (
    application_get_for_user,
    application_list_for_student,
    lottery_view_get,
    session_open_get,
    viewer_school_id,
    waitlist_positions,
)
from ..services.applications import (
    application_apply,
    application_apply_or_waitlist,
    application_cancel,
    session_label,
    waitlist_position,
)
from ..services.lottery import session_lottery_replay

CONFIRMATIONS = {
    ApplicationStatus.CONFIRMED: gettext_lazy("You are confirmed for %(session)s."),
    ApplicationStatus.PENDING: gettext_lazy(
        "Application received for %(session)s. Seats are drawn by lottery when applications close."
    ),
    ApplicationStatus.WAITLISTED: gettext_lazy(
        "You are number %(position)s on the waiting list for %(session)s."
    ),
    ApplicationStatus.AWAITING_CONSENT: gettext_lazy(
        "Application received for %(session)s. It needs your guardian's consent: bring the "
        "signed form to your school; your application goes ahead once the school records it."
    ),
}


def _student_or_404(request: HttpRequest):
    student = student_of_user(user=request.user)
    if student is None:
        raise Http404
    return student


def _apply(request: HttpRequest, session_id: int, service) -> HttpResponse:
    student = _student_or_404(request)
    session = session_open_get(
        session_id=session_id, school_id=viewer_school_id(user=request.user), now=timezone.now()
    )
    back = reverse("bases:post-detail", args=[session.post_id])
    try:
        application = service(
            student=student,
            session=session,
            briefing_digest=(
                request.POST.get("briefing_digest", "") if request.POST.get("briefing_ack") else ""
            ),
        )
    except BaseError as error:
        messages.error(request, error.messages[0])
        if error.code == "full":
            request.session["offer_waitlist"] = session.pk
        return redirect(back)
    request.session.pop("offer_waitlist", None)
    message = CONFIRMATIONS[application.status] % {
        "session": session_label(session),
        "position": waitlist_position(application),
    }
    hold = None
    if application.status == ApplicationStatus.WAITLISTED:
        hold = student_reliability(student_id=student.pk).hold
    if hold is not None:
        messages.warning(request, f"{message} {hold.reason}")
    else:
        messages.success(request, message)
    return redirect(reverse("bases:my-applications") + f"#application-{application.pk}")


@require_POST
@role_required(Role.STUDENT)
def session_apply(request: HttpRequest, session_id: int) -> HttpResponse:
    return _apply(request, session_id, application_apply)


@require_POST
@role_required(Role.STUDENT)
def session_waitlist(request: HttpRequest, session_id: int) -> HttpResponse:
    return _apply(request, session_id, application_apply_or_waitlist)


@require_POST
@role_required(Role.STUDENT)
def application_cancel_view(request: HttpRequest, application_id: int) -> HttpResponse:
    application = application_get_for_user(user=request.user, application_id=application_id)
    try:
        application_cancel(application=application, cancelled_by=request.user)
    except BaseError as error:
        messages.error(request, error.messages[0])
    else:
        messages.success(
            request,
            _("Cancelled: %(session)s.") % {"session": session_label(application.session)},
        )
    return redirect("bases:my-applications")


@role_required(Role.STUDENT)
def my_applications(request: HttpRequest) -> HttpResponse:
    student = _student_or_404(request)
    applications = list(application_list_for_student(student=student))
    positions = waitlist_positions(applications=applications)
    now = timezone.now()
    for application in applications:
        application.position = positions.get(application.pk)
        cutoff = application.session.cancel_cutoff_at or application.session.starts_at
        application.can_cancel = application.status in LIVE_STATUSES and now < cutoff
        application.cutoff = cutoff
    return render(
        request,
        "bases/my_applications.html",
        {
            "applications": applications,
            "student": student,
            "reliability": student_reliability(student_id=student.pk),
        },
    )


@role_required(Role.STUDENT, Role.COORDINATOR)
def session_lottery(request: HttpRequest, session_id: int) -> HttpResponse:
    """How a lottery was drawn: seed, weights and order, names masked."""
    session, applications = lottery_view_get(user=request.user, session_id=session_id)
    replay = session_lottery_replay(session=session) if session.lottery_drawn_at else []
    return render(
        request,
        "bases/session_lottery.html",
        {
            "session": session,
            "applications": applications,
            "replay_matches": replay == [a.pk for a in applications if a.draw_position],
        },
    )
