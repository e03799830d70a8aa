"""The scan API for a base's own system (docs/api.md), and the page where coordinators create
and revoke its tokens.

`POST /api/v1/scans` takes one scan or {"scans": [...]} with a bearer token of the base; each
nonce is recorded once, so a client re-sends whatever it has no answer for. Errors are JSON with
a machine-readable `code`.
"""

import logging

import orjson
from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.validators import (
    MaxLengthValidator,
    MaxValueValidator,
    MinValueValidator,
    ProhibitNullCharactersValidator,
    RegexValidator,
)
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from portal.models import Role
from portal.roles import role_required
from students.models import RecordedVia, Student

from ..attendance_rules import Problem
from ..errors import BaseError
from ..forms_attendance import ApiScanForm, ApiTokenForm
from ..models import BaseApiToken, Session
from ..selectors import base_get_for_user
from ..services.api_tokens import (
    api_token_authenticate,
    api_token_create,
    api_token_revoke,
    api_token_touch,
)
from ..services.attendance import Scan, attendance_scans_record_many

logger = logging.getLogger(__name__)

MAX_SCANS = 500
MAX_BODY_BYTES = 512 * 1024  # 500 scans take about 100 KB


# ------------------------------------------------------------------------------
# Tokens (coordinators, session-authenticated)
# ------------------------------------------------------------------------------
def _render_tokens(request, base, *, form=None, new_token=None, status=200) -> HttpResponse:
    return render(
        request,
        "bases/api_tokens.html",
        {
            "base": base,
            "tokens": BaseApiToken.objects.filter(base=base).select_related("created_by"),
            "form": form or ApiTokenForm(),
            "new_token": new_token,
            "api_url": request.build_absolute_uri(reverse("bases:api-scans")),
        },
        status=status,
    )


@role_required(Role.COORDINATOR)
def api_tokens(request: HttpRequest, base_id: int) -> HttpResponse:
    """The base's tokens; a POST creates one and shows it once, on this response only.

    Not a redirect: the raw token must not travel through the session or a cookie.
    """
    base = base_get_for_user(user=request.user, base_id=base_id)
    if request.method != "POST":
        return _render_tokens(request, base)
    form = ApiTokenForm(request.POST)
    if form.is_valid():
        try:
            token, raw = api_token_create(
                base=base,
                name=form.cleaned_data["name"],
                created_by=request.user,
                valid_days=int(form.cleaned_data["valid_days"]),
            )
        except BaseError as error:
            form.add_error(None, error)
        else:
            response = _render_tokens(request, base, new_token={"token": token, "raw": raw})
            response["Cache-Control"] = "no-store"
            return response
    return _render_tokens(request, base, form=form, status=400)


@require_POST
@role_required(Role.COORDINATOR)
def api_token_revoke_view(request: HttpRequest, token_id: int) -> HttpResponse:
    token = get_object_or_404(
        BaseApiToken.objects.filter(base__coordinators__user=request.user), pk=token_id
    )
    try:
        api_token_revoke(token=token, revoked_by=request.user)
    except BaseError as error:
        messages.error(request, error.messages[0])
    else:
        messages.success(
            request,
            _("Token %(name)s revoked: it no longer works.") % {"name": token.name},
        )
    return redirect("bases:api-tokens", base_id=token.base_id)


# ------------------------------------------------------------------------------
# POST /api/v1/scans (bearer token)
# ------------------------------------------------------------------------------
def _json(payload: dict, *, status: int = 200) -> HttpResponse:
    """A JSON answer written by orjson (lazy translations become their text)."""
    body = orjson.dumps(payload, default=str)
    return HttpResponse(body, status=status, content_type="application/json")


def _error(status: int, code: str, message: str, **extra) -> HttpResponse:
    response = _json({"error": {"code": code, "message": message, **extra}}, status=status)
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="scans"'
    return response


def _authenticate(request: HttpRequest):
    """(token, None) for a live token of a base, else (None, the 401 answer)."""
    scheme, _sep, raw = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not raw.strip():
        return None, _error(
            401, "token_missing", _("Send the header Authorization: Bearer <token>.")
        )
    token = api_token_authenticate(raw=raw.strip())
    if token is None:
        return None, _error(401, "token_invalid", _("This token is not known."))
    if token.revoked_at is not None:
        return None, _error(401, "token_revoked", _("This token was revoked."))
    if token.expired():
        return None, _error(
            401, "token_expired", _("This token has expired: create a new one for this system.")
        )
    return token, None


def _read_scans(request: HttpRequest) -> tuple[list | None, HttpResponse | None, bool]:
    """(the scans as sent, an error answer, whether one scan was sent rather than a batch)."""
    if int(request.META.get("CONTENT_LENGTH") or 0) > MAX_BODY_BYTES:
        return None, _error(413, "body_too_large", _body_too_large()), False
    try:
        body = orjson.loads(request.body)  # the scans' one parse, about 10x json's speed
    except orjson.JSONDecodeError:
        return None, _error(400, "invalid_json", _("The body is not valid JSON.")), False
    if isinstance(body, dict) and "scans" in body:
        scans, single = body["scans"], False
    elif isinstance(body, dict):
        scans, single = [body], True
    else:
        scans, single = None, False
    if not isinstance(scans, list):
        message = _('Send one scan as an object, or {"scans": [...]}.')
        return None, _error(400, "invalid_json", message), False
    if not scans:
        return None, _error(400, "no_scans", _("The list of scans is empty.")), False
    if len(scans) > MAX_SCANS:
        message = _("At most %(max)s scans per request.") % {"max": MAX_SCANS}
        return None, _error(400, "too_many_items", message, max=MAX_SCANS), False
    return scans, None, single


def _body_too_large() -> str:
    return _("The body is larger than %(kb)s KB; send fewer scans per request.") % {
        "kb": MAX_BODY_BYTES // 1024
    }


def _as_is(field: forms.Field):
    """A quick test for a value the field would return unchanged, so its cleaning is skipped;
    None for a field without one. Every other value goes through the field, which cleans it or
    says what is wrong: the rules stay the form's."""
    checks = {type(v) for v in field.validators}
    if type(field) in (forms.CharField, forms.RegexField) and not field.min_length:
        if checks - {MaxLengthValidator, ProhibitNullCharactersValidator, RegexValidator}:
            return None
        regex = getattr(field, "regex", None)
        longest, strip = field.max_length, field.strip

        def text(value) -> bool:
            return (
                type(value) is str
                and value != ""
                and (not strip or value == value.strip())
                and "\x00" not in value
                and (longest is None or len(value) <= longest)
                and (regex is None or regex.search(value) is not None)
            )

        return text
    if type(field) is forms.IntegerField and field.step_size is None:
        if checks - {MinValueValidator, MaxValueValidator}:
            return None
        low, high = field.min_value, field.max_value

        def number(value) -> bool:
            return (
                type(value) is int
                and (low is None or value >= low)
                and (high is None or value <= high)
            )

        return number
    if type(field) is forms.ChoiceField and not checks:
        values = {str(key) for key, _label in field.choices}
        return lambda value: type(value) is str and value in values
    return None


_AS_IS = {name: _as_is(field) for name, field in ApiScanForm.base_fields.items()}


def _validate(scans: list) -> tuple[list[dict], HttpResponse | None]:
    """Cleaned scans, or the 400 answer naming the first bad one and its field.

    Each scan goes through ApiScanForm's fields in their order, as the form would clean it,
    without building a form per scan (which copies every field); a value already clean (a
    string, number or choice as the field returns it) is taken as it is.
    """
    fields = ApiScanForm.base_fields
    cleaned = []
    for index, item in enumerate(scans):
        if not isinstance(item, dict):
            return [], _error(
                400, "invalid_field", _("Each scan is a JSON object."), index=index, field=None
            )
        data = {}
        for name, field in fields.items():
            value = item.get(name)
            as_is = _AS_IS[name]
            if as_is is not None and as_is(value):
                data[name] = value
                continue
            try:
                data[name] = field.clean(field.widget.value_from_datadict(item, {}, name))
            except ValidationError as error:
                first = error.error_list[0]
                code = "missing_field" if first.code == "required" else "invalid_field"
                message = (
                    _("Field %(field)s is missing.") % {"field": name}
                    if code == "missing_field"
                    else f"{name}: {first.messages[0]}"
                )
                return [], _error(400, code, message, index=index, field=name)
        cleaned.append(data)
    return cleaned, None


def _not_on_roster(scan: dict) -> dict:
    # One answer for every number not on the session's roster: whether it belongs to a student
    # elsewhere in the city is none of the token holder's business.
    return {
        "status": "error",
        "code": Problem.NOT_CONFIRMED.value,
        "message": _("Student number %(number)s is not on the roster of session %(session)s.")
        % {"number": scan["student_number"], "session": scan["session"]},
    }


def _record(*, token: BaseApiToken, scans: list[dict]) -> tuple[list[dict], HttpResponse | None]:
    """Record every scan in one pass; (per-scan results, a 404 answer)."""
    mine = set(
        Session.objects.filter(
            pk__in={s["session"] for s in scans}, post__base_id=token.base_id
        ).values_list("pk", flat=True)
    )
    for index, scan in enumerate(scans):
        if scan["session"] not in mine:
            return [], _error(
                404,
                "session_not_found",
                _("Session %(id)s is not a session of this token's base.")
                % {"id": scan["session"]},
                index=index,
            )
    students = {
        student.student_number: student
        for student in Student.objects.filter(
            student_number__in={s["student_number"] for s in scans}
        )
        .only("id", "student_number", "name")
        .order_by()
    }
    sessions = {pk: Session(pk=pk) for pk in mine}  # locked and read by the service
    results: list[dict] = [
        {"index": index, "nonce": scan["nonce"]} for index, scan in enumerate(scans)
    ]
    batch_of: list[int] = []  # the index in the request of each scan sent to the service
    batch: list[tuple[Session, Scan]] = []
    for index, scan in enumerate(scans):
        student = students.get(scan["student_number"])
        if student is None:
            results[index].update(_not_on_roster(scan))
            continue
        batch_of.append(index)
        batch.append(
            (
                sessions[scan["session"]],
                Scan(
                    nonce=scan["nonce"],
                    student=student,
                    kind=scan["kind"],
                    happened_at=scan["time"],
                ),
            )
        )
    if batch:
        recorded = attendance_scans_record_many(
            scans=batch, source=RecordedVia.API, recorded_by=None, roster_first=True
        )
        for position, index in enumerate(batch_of):
            results[index]["status"] = recorded.outcomes[position]
        for position, code, message in recorded.errors:
            index = batch_of[position]
            if code == Problem.NOT_CONFIRMED.value:
                results[index].update(_not_on_roster(scans[index]))
            else:
                results[index].update(code=code, message=message)
    return results, None


@csrf_exempt  # token authentication only: a browser's cookies are never accepted here
def api_scans(request: HttpRequest) -> HttpResponse:
    """Record one scan or a batch of up to 500; idempotent by nonce."""
    if request.method != "POST":
        response = _error(405, "method_not_allowed", _("Use POST."))
        response["Allow"] = "POST"
        return response
    token, denied = _authenticate(request)
    if denied:
        return denied
    api_token_touch(token=token)
    scans, error, single = _read_scans(request)
    if error:
        return error
    cleaned, error = _validate(scans)
    if error:
        return error
    results, error = _record(token=token, scans=cleaned)
    if error:
        return error
    for result in results:
        if result.get("code") == "nonce_reused":
            # Refused, never merged; kept in the log for whoever looks into the base's system.
            logger.warning(
                "Scan refused: nonce %s reused with another payload (token %s…, base %s)",
                result["nonce"],
                token.prefix,
                token.base_id,
            )
    if single:
        result = results[0]
        status = {"created": 201, "repeated": 200}.get(result["status"], 422)
        return _json(result, status=status)
    counts = {key: sum(r["status"] == key for r in results) for key in ("created", "repeated")}
    counts["errors"] = len(results) - counts["created"] - counts["repeated"]
    return _json({**counts, "results": results})
