"""Self check-in (时长码): the check-in screen a coordinator opens at the door, and the pages a
student's phone reaches by scanning its QR code or typing its code.

The screen shows only the code and how many are in: never a student's name. Its script
(static/bases/kiosk.js) fetches the next code as the step ends.
"""

import segno
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from portal.models import Role
from portal.roles import role_required
from students.selectors import student_of_user

from .. import attendance_rules as rules
from ..checkin_codes import STEP_SECONDS, normalise, seconds_left
from ..errors import BaseError
from ..models import ScanKind, Session
from ..selectors import post_get_for_user, session_get_for_user
from ..services.attendance import (
    attendance_self_check_in,
    post_self_check_in_set,
    self_check_in_code,
    self_check_in_counts,
    self_check_in_session_for_code,
    self_check_in_throttled,
    self_check_in_wrong_code,
)


def _scan_url(request: HttpRequest, session: Session, code: str) -> str:
    return request.build_absolute_uri(reverse("bases:self-check-in-scan", args=[session.pk, code]))


def _screen_state(request: HttpRequest, session: Session) -> dict:
    now = timezone.now()
    code = self_check_in_code(session=session, now=now)
    state = {
        "open": code is not None,
        "counts": self_check_in_counts(session=session),
        "step": STEP_SECONDS,
        "seconds_left": seconds_left(now),
    }
    if code is None:
        problem = rules.self_check_in_open(session=session, now=now)
        params = rules.window_params(session)
        state["message"] = _(rules.SELF_MESSAGES[problem]) % params
        return state
    url = _scan_url(request, session, code)
    state.update(
        code=code,
        url=url,
        qr=segno.make(url, error="m").svg_data_uri(scale=1, border=4, omitsize=True),
    )
    return state


@never_cache
@role_required(Role.COORDINATOR)
def kiosk(request: HttpRequest, session_id: int) -> HttpResponse:
    """The check-in screen: a QR code and a typeable code that change every 30 seconds."""
    session = session_get_for_user(user=request.user, session_id=session_id)
    start, end = rules.self_check_in_window(session)
    context = {
        "session": session,
        "state": _screen_state(request, session),
        "window": {"start": start, "end": end},
        "strings": {
            "changesIn": _("Changes in %(seconds)s s"),
            "offline": _("No connection: the code shown may no longer work."),
        },
    }
    return render(request, "bases/kiosk.html", context)


@never_cache
@role_required(Role.COORDINATOR)
def kiosk_code(request: HttpRequest, session_id: int) -> JsonResponse:
    """The screen's current code, QR and counts (JSON, for its script)."""
    session = session_get_for_user(user=request.user, session_id=session_id)
    return JsonResponse(_screen_state(request, session))


def _checked_message(scan, session: Session) -> str:
    values = {"post": session.post.title, "time": rules.local_time(scan.happened_at, "H:i")}
    if scan.kind == ScanKind.CHECK_IN:
        return _("Checked in at %(post)s at %(time)s. Scan again when you leave.") % values
    return _("Checked out of %(post)s at %(time)s.") % values


def _render_student(request, *, session=None, code="", error="", status=200) -> HttpResponse:
    context = {"session": session, "code": code, "error": error}
    return render(request, "bases/self_check_in.html", context, status=status)


@never_cache
@role_required(Role.STUDENT)
def self_check_in(request: HttpRequest) -> HttpResponse:
    """Type the code of the check-in screen (GET), or send it (POST, from here or a scan)."""
    if request.method != "POST":
        return _render_student(request)
    student = student_of_user(user=request.user)
    code = normalise(request.POST.get("code", ""))[:16]
    session = None
    try:
        if student is None:
            raise BaseError(_("Your account is not linked to a student record yet."), code="none")
        if self_check_in_throttled(user_id=request.user.pk):
            raise BaseError(
                _("Too many wrong codes. Wait a few minutes, or ask the coordinator."),
                code="throttled",
            )
        session_id = request.POST.get("session", "")
        if session_id.isdigit():
            session = Session.objects.select_related("post__base").filter(pk=session_id).first()
        if session is None:
            session = self_check_in_session_for_code(code=code)
        scan = attendance_self_check_in(session=session, student=student, code=code)
    except BaseError as error:
        if error.code == rules.Problem.CODE_EXPIRED:
            self_check_in_wrong_code(user_id=request.user.pk)
        return _render_student(
            request, session=session, code=code, error=error.messages[0], status=400
        )
    messages.success(request, _checked_message(scan, session))
    return redirect("bases:self-check-in-done", session_id=session.pk)


@never_cache
@role_required(Role.STUDENT)
def self_check_in_scan(request: HttpRequest, session_id: int, code: str) -> HttpResponse:
    """Where the QR code leads: which session, and one button to check in or out."""
    session = Session.objects.select_related("post__base").filter(pk=session_id).first()
    return _render_student(request, session=session, code=normalise(code)[:16])


@never_cache
@role_required(Role.STUDENT)
def self_check_in_done(request: HttpRequest, session_id: int) -> HttpResponse:
    """After a check-in or check-out: the message, and the student's own times only."""
    student = student_of_user(user=request.user)
    session = Session.objects.select_related("post__base").filter(pk=session_id).first()
    attendance = None
    if student is not None and session is not None:
        attendance = session.attendances.filter(student=student).first()
    context = {"session": session, "attendance": attendance}
    return render(request, "bases/self_check_in_done.html", context)


@require_POST
@role_required(Role.COORDINATOR)
def post_self_check_in(request: HttpRequest, post_id: int) -> HttpResponse:
    """Switch self check-in (and walk-ins by self check-in) on or off for a post."""
    post = post_get_for_user(user=request.user, post_id=post_id)
    try:
        post_self_check_in_set(
            post=post,
            self_check_in=request.POST.get("self_check_in") == "on",
            allows_walk_ins=request.POST.get("allows_walk_ins") == "on",
            changed_by=request.user,
        )
    except BaseError as error:
        messages.error(request, error.messages[0])
    else:
        messages.success(request, _("Self check-in settings saved."))
    return redirect(reverse("bases:post-manage", args=[post.pk]) + "#self-check-in")
