"""Forms of the roster, the scan API and its tokens: they clean input; the rules live in
`bases.services.attendance`."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _

from students.models import RecordedVia

from .forms import DATETIME
from .models import ScanKind
from .services.api_tokens import VALID_DAYS_CHOICES
from .services.attendance import AUTO_KIND

# The same rule as the database constraint on AttendanceScan.nonce.
NONCE_REGEX = r"\A[A-Za-z0-9_.:-]{8,64}\Z"
MAX_CODE_LENGTH = 64


class AwareDateTimeField(forms.Field):
    """An ISO 8601 time with its offset: a scan says when it happened, not when it arrived."""

    default_error_messages = {
        "invalid": _("Give the time in ISO 8601 with its offset, e.g. 2025-05-03T09:05:00+08:00."),
    }

    def to_python(self, value):
        if value in self.empty_values:
            return None
        if not isinstance(value, str):
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        try:
            parsed = parse_datetime(value.strip())
        except ValueError:
            parsed = None
        if parsed is None or parsed.tzinfo is None:
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        return parsed


def _nonce_field() -> forms.RegexField:
    return forms.RegexField(
        regex=NONCE_REGEX,
        error_messages={"invalid": _("A scan id is 8-64 letters, digits or . _ : -")},
    )


def _normalise_code(value: str) -> str:
    """Scanners and phone keyboards add spaces; personal codes are upper case."""
    return "".join(value.split()).upper()


# ------------------------------------------------------------------------------
# The roster page
# ------------------------------------------------------------------------------
class RosterScanForm(forms.Form):
    """One check-in or check-out from the page without JavaScript: a button or a typed code."""

    code = forms.CharField(
        label=_("Personal code or student number"), max_length=MAX_CODE_LENGTH, required=False
    )
    student = forms.IntegerField(min_value=1, required=False, widget=forms.HiddenInput)
    kind = forms.ChoiceField(
        choices=[*ScanKind.choices, (AUTO_KIND, AUTO_KIND)],
        required=False,
        widget=forms.HiddenInput,
    )
    # Sent by the "check out anyway" button after a short stay was questioned.
    confirm_short = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def clean_code(self) -> str:
        return _normalise_code(self.cleaned_data["code"])

    def clean(self):
        data = super().clean()
        if not data.get("code") and not data.get("student"):
            raise ValidationError(
                _("Scan or type the student's personal code or student number."),
                code="code_required",
            )
        data["kind"] = data.get("kind") or AUTO_KIND
        return data


SYNC_SCAN, SYNC_ALL_PRESENT = "scan", "all_present"


class RosterSyncItemForm(forms.Form):
    """One action the roster page queued, possibly offline: a scan or 'all present'."""

    nonce = _nonce_field()
    action = forms.ChoiceField(
        choices=[(SYNC_SCAN, SYNC_SCAN), (SYNC_ALL_PRESENT, SYNC_ALL_PRESENT)], required=False
    )
    student = forms.IntegerField(min_value=1, required=False)
    code = forms.CharField(max_length=MAX_CODE_LENGTH, required=False)
    kind = forms.ChoiceField(choices=[*ScanKind.choices, (AUTO_KIND, AUTO_KIND)], required=False)
    via = forms.ChoiceField(
        choices=[(RecordedVia.ROSTER, "roster"), (RecordedVia.SCAN, "scan")], required=False
    )
    time = AwareDateTimeField()
    # The page asked before queueing a check-out crediting less than the policy's minimum.
    confirm_short = forms.BooleanField(required=False)

    def clean_code(self) -> str:
        return _normalise_code(self.cleaned_data["code"])

    def clean(self):
        data = super().clean()
        data["action"] = data.get("action") or SYNC_SCAN
        if data["action"] == SYNC_SCAN:
            if not data.get("student") and not data.get("code"):
                raise ValidationError(_("A scan names a student or a code."), code="required")
            data["kind"] = data.get("kind") or AUTO_KIND
            data["via"] = data.get("via") or (
                RecordedVia.SCAN if data.get("code") else RecordedVia.ROSTER
            )
        return data


class WalkInForm(forms.Form):
    student_number = forms.CharField(label=_("Student number"), max_length=32)
    reason = forms.CharField(
        label=_("Why this student is added"),
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": _("Say why this student is added.")},
    )

    def clean_student_number(self) -> str:
        return "".join(self.cleaned_data["student_number"].split())

    def clean_reason(self) -> str:
        return self.cleaned_data["reason"].strip()


class CorrectionForm(forms.Form):
    checked_in_at = forms.DateTimeField(label=_("Checked in"), widget=DATETIME)
    checked_out_at = forms.DateTimeField(label=_("Checked out"), widget=DATETIME)
    credited_minutes = forms.IntegerField(
        label=_("Credited minutes (optional)"),
        min_value=0,
        max_value=24 * 60,
        required=False,
        help_text=_("Leave empty to credit the time spent in the session."),
    )
    reason = forms.CharField(
        label=_("Reason"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": _("A correction needs a reason.")},
    )

    def clean_reason(self) -> str:
        return self.cleaned_data["reason"].strip()


# ------------------------------------------------------------------------------
# The API for a base's own system, and its tokens
# ------------------------------------------------------------------------------
class ApiScanForm(forms.Form):
    """One scan as a base's own system sends it."""

    nonce = _nonce_field()
    student_number = forms.CharField(max_length=32)
    session = forms.IntegerField(min_value=1)
    kind = forms.ChoiceField(choices=ScanKind.choices)
    time = AwareDateTimeField()


class ApiTokenForm(forms.Form):
    name = forms.CharField(
        label=_("Token name"),
        max_length=64,
        help_text=_("What uses the token, e.g. the front-desk check-in system."),
    )
    valid_days = forms.TypedChoiceField(
        label=_("Works for"),
        coerce=int,
        required=False,
        empty_value=VALID_DAYS_CHOICES[-1],
        initial=VALID_DAYS_CHOICES[-1],
        choices=[(days, _("%(days)d days") % {"days": days}) for days in VALID_DAYS_CHOICES],
        help_text=_("After that it stops working; create a new one before then."),
    )
