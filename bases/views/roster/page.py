"""The roster page and its plain forms: a button or a typed code without the script, all
present, walk-ins, closing, corrections. Each fetches the session through the coordinator's
scope (another base's session answers 404), calls one service, and redirects with a message.
"""

import uuid
from datetime import timedelta

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from portal.models import Role
from portal.roles import role_required
from students.models import RecordedVia, Student
from students.selectors import attendance_scan_limits

from ...attendance_rules import Problem
from ...errors import BaseError
from ...forms_attendance import CorrectionForm, RosterScanForm, WalkInForm
from ...models import Session
from ...selectors import session_get_for_user
from ...services.attendance import (
    Scan,
    attendance_all_present,
    attendance_correct_for_student,
    attendance_scan_record,
    attendance_walk_in_add,
    attendance_walk_in_confirm,
    attendance_walk_in_refuse,
    session_attendance_close,
)
from .rows import (
    all_present_message,
    roster_corrections,
    roster_rows,
    roster_students,
    scan_message,
    students_by_key,
    unknown_message,
)


def _roster_url(session: Session, anchor: str = "") -> str:
    return reverse("bases:session-roster", args=[session.pk]) + (f"#{anchor}" if anchor else "")


def _client_strings() -> dict:
    """What the page's script shows, translated here so Chinese is the default."""
    return {
        "waiting": _("%(count)s waiting to sync"),
        "allSynced": _("All synced"),
        "offline": _("Offline: actions are kept on this phone"),
        "syncing": _("Syncing…"),
        "checkedIn": _("%(name)s: check-in %(time)s"),
        "checkedOut": _("%(name)s: check-out %(time)s"),
        "waitingMark": _("waiting to sync"),
        "codeKept": _("Code %(code)s kept: it is matched when it reaches the server."),
        "needsNetwork": _("This needs the network. Try again when you are online."),
        "syncFirst": _("Sync the waiting actions first, then close."),
        "signIn": _(
            "Sign in again, then reload this page; the waiting actions stay on this phone."
        ),
        "failed": _("Not recorded: %(message)s"),
        "allPresentConfirm": _("Mark everyone not yet recorded as present for the whole session?"),
        "allPresentQueued": _("Everyone not yet recorded: present for the whole session."),
        "enterCode": _("Scan or type the student's personal code or student number."),
        "shortConfirm": _(
            "%(name)s checked in at %(time)s: checking out now credits less than %(minimum)s "
            "minutes. Check out anyway?"
        ),
    }


def _render_roster(
    request: HttpRequest,
    session: Session,
    *,
    walk_in_form: WalkInForm | None = None,
    correction: tuple[int, CorrectionForm] | None = None,
    short_stay: dict | None = None,
    status: int = 200,
) -> HttpResponse:
    confirmed, walk_ins = roster_rows(session)
    rows = confirmed + walk_ins
    closed = session.attendance_closed_at is not None
    if closed:
        for row in rows:
            if correction and correction[0] == row.student.pk:
                row.correction_form = correction[1]
            else:
                row.correction_form = CorrectionForm(
                    prefix=f"c{row.student.pk}",
                    initial={
                        "checked_in_at": row.checked_in_at or session.starts_at,
                        "checked_out_at": row.checked_out_at or session.ends_at,
                    },
                )
    now = timezone.now()
    limits = attendance_scan_limits()
    context = {
        "session": session,
        "confirmed": confirmed,
        "walk_ins": walk_ins,
        "closed": closed,
        "started": now >= session.starts_at,
        "overdue": not closed and session.ends_at < now - timedelta(hours=limits.deadline_hours),
        "counts": {
            "confirmed": len(confirmed),
            "in": sum(1 for r in rows if r.checked_in_at),
            "out": sum(1 for r in rows if r.checked_out_at),
        },
        "missing": [r for r in rows if r.missing_checkout],
        "corrections": roster_corrections(rows),
        "walk_in_form": walk_in_form or WalkInForm(),
        "open_correction": correction[0] if correction else None,
        "short_stay": short_stay,
        "strings": _client_strings(),
        "minimum_minutes": limits.minimum_checkout_minutes,
        "repeat_seconds": limits.repeat_seconds,
        "awaiting": [r for r in walk_ins if r.attendance and r.attendance.awaiting_confirmation],
    }
    return render(request, "bases/roster.html", context, status=status)


@role_required(Role.COORDINATOR)
def session_roster(request: HttpRequest, session_id: int) -> HttpResponse:
    """The roster: who is confirmed, who is in and out, and the actions of the day."""
    return _render_roster(request, session_get_for_user(user=request.user, session_id=session_id))


@require_POST
@role_required(Role.COORDINATOR)
def roster_record(request: HttpRequest, session_id: int) -> HttpResponse:
    """One check-in or check-out now, from a button or a typed code, without the script."""
    session = session_get_for_user(user=request.user, session_id=session_id)
    form = RosterScanForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(form.errors.get("__all__", [])) or _("Not recorded."))
        return redirect(_roster_url(session))
    data = form.cleaned_data
    student = students_by_key(session, ids=[data["student"]], codes=[data["code"]]).get(
        data["student"] or data["code"]
    )
    if student is None:
        messages.error(request, unknown_message(data))
        return redirect(_roster_url(session))
    try:
        scan, _created = attendance_scan_record(
            session=session,
            scan=Scan(
                nonce=uuid.uuid4().hex,
                student=student,
                kind=data["kind"],
                happened_at=timezone.now(),
                short_stay_confirmed=data["confirm_short"],
            ),
            source=RecordedVia.SCAN if data["code"] else RecordedVia.ROSTER,
            recorded_by=request.user,
        )
    except BaseError as error:
        if error.code == Problem.SHORT_STAY:
            # Ask on the page: the same check-out again, confirmed.
            question = {"student": student, "message": error.messages[0]}
            return _render_roster(request, session, short_stay=question, status=409)
        messages.error(request, error.messages[0])
    else:
        messages.success(request, scan_message(scan, student))
    return redirect(_roster_url(session, f"student-{student.pk}"))


@require_POST
@role_required(Role.COORDINATOR)
def roster_all_present(request: HttpRequest, session_id: int) -> HttpResponse:
    session = session_get_for_user(user=request.user, session_id=session_id)
    try:
        count = attendance_all_present(session=session, recorded_by=request.user)
    except BaseError as error:
        messages.error(request, error.messages[0])
    else:
        messages.success(request, all_present_message(count))
    return redirect(_roster_url(session))


@require_POST
@role_required(Role.COORDINATOR)
def roster_walk_in(request: HttpRequest, session_id: int) -> HttpResponse:
    """Add a student who did not apply, with a written reason (audited by the service)."""
    session = session_get_for_user(user=request.user, session_id=session_id)
    form = WalkInForm(request.POST)
    if form.is_valid():
        student = Student.objects.filter(
            student_number__iexact=form.cleaned_data["student_number"]
        ).first()
        if student is None:
            form.add_error("student_number", _("No student has this student number."))
        else:
            try:
                attendance_walk_in_add(
                    session=session,
                    student=student,
                    reason=form.cleaned_data["reason"],
                    added_by=request.user,
                )
            except BaseError as error:
                form.add_error(None, error)
            else:
                messages.success(
                    request,
                    _("%(name)s added to the roster. Now check them in.") % {"name": student.name},
                )
                return redirect(_roster_url(session, f"student-{student.pk}"))
    return _render_roster(request, session, walk_in_form=form, status=400)


def _awaiting_attendance(request: HttpRequest, session_id: int, student_id: int):
    session = session_get_for_user(user=request.user, session_id=session_id)
    attendance = session.attendances.filter(student_id=student_id).first()
    if attendance is None:
        raise Http404
    return session, attendance


@require_POST
@role_required(Role.COORDINATOR)
def roster_walk_in_confirm(request: HttpRequest, session_id: int, student_id: int):
    """Keep a walk-in who checked in by themselves."""
    session, attendance = _awaiting_attendance(request, session_id, student_id)
    try:
        attendance_walk_in_confirm(attendance=attendance, confirmed_by=request.user)
    except BaseError as error:
        messages.error(request, error.messages[0])
    else:
        messages.success(request, _("%(name)s confirmed.") % {"name": attendance.student.name})
    return redirect(_roster_url(session, f"student-{student_id}"))


@require_POST
@role_required(Role.COORDINATOR)
def roster_walk_in_refuse(request: HttpRequest, session_id: int, student_id: int):
    """Remove a walk-in who checked in by themselves but is not taking part."""
    session, attendance = _awaiting_attendance(request, session_id, student_id)
    try:
        attendance_walk_in_refuse(attendance=attendance, refused_by=request.user)
    except BaseError as error:
        messages.error(request, error.messages[0])
    else:
        messages.success(
            request, _("%(name)s removed from the roster.") % {"name": attendance.student.name}
        )
    return redirect(_roster_url(session, "walk-ins"))


@require_POST
@role_required(Role.COORDINATOR)
def roster_close(request: HttpRequest, session_id: int) -> HttpResponse:
    session = session_get_for_user(user=request.user, session_id=session_id)
    try:
        written = session_attendance_close(session=session, closed_by=request.user)
    except BaseError as error:
        messages.error(request, error.messages[0])
    else:
        messages.success(
            request,
            _("Attendance closed: %(count)s records are now in public notice.")
            % {"count": written},
        )
    return redirect(_roster_url(session))


@require_POST
@role_required(Role.COORDINATOR)
def roster_correct(request: HttpRequest, session_id: int, student_id: int) -> HttpResponse:
    """Change a student's times or credited minutes with a reason; the record gets a version."""
    session = session_get_for_user(user=request.user, session_id=session_id)
    student = roster_students(session).filter(pk=student_id).first()
    if student is None:
        raise Http404
    form = CorrectionForm(request.POST, prefix=f"c{student.pk}")
    if form.is_valid():
        try:
            attendance_correct_for_student(
                session=session,
                student=student,
                checked_in_at=form.cleaned_data["checked_in_at"],
                checked_out_at=form.cleaned_data["checked_out_at"],
                credited_minutes=form.cleaned_data["credited_minutes"],
                reason=form.cleaned_data["reason"],
                corrected_by=request.user,
            )
        except BaseError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("Corrected: %(name)s.") % {"name": student.name})
            return redirect(_roster_url(session, f"student-{student.pk}"))
    return _render_roster(request, session, correction=(student.pk, form), status=400)
