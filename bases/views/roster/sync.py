"""The roster page's offline queue reaches the server here (JSON, session-authenticated, with
the page's CSRF token): each item is recorded once by its nonce, in the order it happened."""

import json
from functools import wraps

from django.http import Http404, HttpRequest, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from portal.models import Role
from portal.roles import has_role
from students.models import RecordedVia

from ...errors import BaseError
from ...forms_attendance import SYNC_ALL_PRESENT, RosterSyncItemForm
from ...models import AttendanceScan, Session
from ...selectors import session_get_for_user
from ...services.attendance import Scan, attendance_all_present, attendance_scans_record
from .rows import all_present_message, row_states, scan_message, students_by_key, unknown_message

MAX_SYNC_ITEMS = 500


MAX_SYNC_BYTES = 512 * 1024


def _json_error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"code": code, "message": message}, status=status)


def _coordinator_json(view):
    """Like role_required, but answers JSON: the page's script keeps its queue and says why."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return _json_error(401, "login_required", _("Sign in again to sync."))
        if not has_role(request.user, Role.COORDINATOR):
            return _json_error(404, "not_found", _("Not found."))
        try:
            return view(request, *args, **kwargs)
        except Http404:
            return _json_error(404, "not_found", _("Not found."))

    return wrapped


def _read_items(request: HttpRequest) -> list | JsonResponse:
    if int(request.META.get("CONTENT_LENGTH") or 0) > MAX_SYNC_BYTES:
        return _json_error(413, "body_too_large", _("Send fewer actions at a time."))
    try:
        body = json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        return _json_error(400, "invalid_json", _("The body is not valid JSON."))
    items = body.get("items") if isinstance(body, dict) else None
    if not isinstance(items, list):
        return _json_error(400, "invalid_json", _('Send {"items": [...]}.'))
    if len(items) > MAX_SYNC_ITEMS:
        return _json_error(
            400, "too_many_items", _("At most %(max)s actions at a time.") % {"max": MAX_SYNC_ITEMS}
        )
    return items


@require_POST
@_coordinator_json
def roster_sync(request: HttpRequest, session_id: int) -> JsonResponse:
    """Record the page's queued actions in order; each nonce counts once, whatever the retries.

    Answers one result per item (created, repeated, or error with a code and a message) and the
    roster's current times, so the page updates without a reload.
    """
    session = session_get_for_user(user=request.user, session_id=session_id)
    items = _read_items(request)
    if isinstance(items, JsonResponse):
        return items
    results = _sync(session=session, items=items, user=request.user)
    session.refresh_from_db(fields=["attendance_closed_at"])
    return JsonResponse(
        {
            "results": results,
            "rows": row_states(session),
            "closed": session.attendance_closed_at is not None,
        }
    )


@never_cache
@require_GET
@_coordinator_json
def roster_state(request: HttpRequest, session_id: int) -> JsonResponse:
    """The roster's current times, which its script polls to show other devices' scans (a
    student's self check-in) as they happen."""
    session = session_get_for_user(user=request.user, session_id=session_id)
    return JsonResponse(
        {"rows": row_states(session), "closed": session.attendance_closed_at is not None}
    )


def _nonce_of(item) -> str:
    nonce = item.get("nonce") if isinstance(item, dict) else None
    return nonce if isinstance(nonce, str) else ""


def _sync(*, session: Session, items: list, user) -> list[dict]:
    forms = [RosterSyncItemForm(item if isinstance(item, dict) else {}) for item in items]
    valid = [form.cleaned_data for form in forms if form.is_valid()]
    students = students_by_key(
        session, ids=[d["student"] for d in valid], codes=[d["code"] for d in valid]
    )
    results = [{"nonce": _nonce_of(item)} for item in items]
    # Consecutive scans of one source go to the service together, in the order they happened.
    run: list[tuple[int, Scan]] = []
    run_source = ""

    def flush() -> None:
        if not run:
            return
        batch = attendance_scans_record(
            session=session, scans=[scan for _i, scan in run], source=run_source, recorded_by=user
        )
        errors = {position: (code, message) for position, code, message in batch.errors}
        for position, (index, scan) in enumerate(run):
            results[index].update(status=batch.outcomes[position], student=scan.student.pk)
            if position in errors:
                code, message = errors[position]
                results[index].update(code=code, message=f"{scan.student.name}: {message}")
        run.clear()

    for index, form in enumerate(forms):
        if not form.is_valid():
            message = "; ".join(str(e) for errors in form.errors.values() for e in errors)
            results[index].update(status="error", code="invalid", message=message)
            continue
        data = form.cleaned_data
        if data["action"] == SYNC_ALL_PRESENT:
            flush()
            results[index].update(_sync_all_present(session=session, user=user))
            continue
        student = students.get(data["student"] or data["code"])
        if student is None:
            results[index].update(status="error", code="unknown", message=unknown_message(data))
            continue
        source = RecordedVia.SCAN if data["via"] == RecordedVia.SCAN else RecordedVia.ROSTER
        if source != run_source:
            flush()
            run_source = source
        scan = Scan(
            nonce=data["nonce"],
            student=student,
            kind=data["kind"],
            happened_at=data["time"],
            short_stay_confirmed=data["confirm_short"],
        )
        run.append((index, scan))
    flush()
    _describe_recorded(results, students)
    return results


def _sync_all_present(*, session: Session, user) -> dict:
    try:
        count = attendance_all_present(session=session, recorded_by=user)
    except BaseError as error:
        return {"status": "error", "code": error.code, "message": error.messages[0]}
    return {"status": "created", "message": all_present_message(count)}


def _describe_recorded(results: list[dict], students: dict) -> None:
    """Say who and which way for each recorded scan (a code scan's kind is decided on record)."""
    recorded = [r for r in results if r.get("status") in ("created", "repeated") and "student" in r]
    if not recorded:
        return
    scans = AttendanceScan.objects.filter(nonce__in=[r["nonce"] for r in recorded])
    kinds = {scan.nonce: scan for scan in scans.only("nonce", "kind", "happened_at")}
    for result in recorded:
        scan = kinds.get(result["nonce"])
        if scan is not None:
            result["kind"] = scan.kind
            result["message"] = scan_message(scan, students[result["student"]])
