"""Logins by one-time activation code: issued for new users and on a reset, redeemed once.

A code is eight characters from an alphabet without look-alikes (no 0/O, 1/I/L), shown as
`ABCD-EFGH`. Only an HMAC of it, keyed with the site's secret and the user's id, is stored, so
the database alone does not reveal a code and checking one is fast (a 1,500-student roster
issues its codes in well under a second). Issuing codes for a user revokes their unused ones:
the latest printed slip is the only one that works. A code expires after
`ACTIVATION_CODE_DAYS` days and works once; redeeming it sets a password that passes the
site's validators, and a user who must change their password (`User.must_change_password`,
set when someone else chose it) is sent to the change page until they do
(`portal.middleware.PasswordChangeRequiredMiddleware`).
"""

import secrets
from collections.abc import Iterable
from datetime import timedelta

from axes.helpers import get_client_ip_address
from django import forms
from django.conf import settings
from django.contrib.auth import login, password_validation
from django.contrib.auth import views as auth_views
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters

from .models import ActivationCode, User
from .services import audit_log_record

ACTIVATION_CODE_DAYS = 30
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8
#: Wrong codes allowed per username and per address each hour; then even the right one waits.
ACTIVATION_TRIES_PER_HOUR = 10
TRIES_WINDOW_SECONDS = 3600


class ActivationError(ValidationError):
    """A code that does not open the account; one message whatever the reason."""


def new_activation_code() -> str:
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    return f"{raw[:4]}-{raw[4:]}"


def normalise_code(code: str) -> str:
    """What people type: spaces, dashes and lower case are all fine."""
    return "".join(ch for ch in (code or "").upper() if ch.isalnum())


def keyed_code_hash(*, purpose: str, key: int, code: str) -> str:
    """The stored form of a one-time code: an HMAC keyed with the secret, a purpose and a row."""
    return salted_hmac(purpose, f"{key}:{normalise_code(code)}", algorithm="sha256").hexdigest()


def code_hash(*, user_id: int, code: str) -> str:
    return keyed_code_hash(purpose="portal.activation", key=user_id, code=code)


def _open_codes(users_q) -> models.QuerySet[ActivationCode]:
    return ActivationCode.objects.filter(users_q, used_at=None, revoked_at=None)


@transaction.atomic
def activation_codes_issue(
    *, users: Iterable[User], issued_by: User | None, reason: str = "issue"
) -> dict[int, str]:
    """A fresh code for each user (their unused ones revoked): {user id: code in clear}.

    The caller shows the codes once (a printed slip, the reset page) and keeps them nowhere.
    """
    users = list(users)
    if not users:
        return {}
    now = timezone.now()
    ids = [user.pk for user in users]
    _open_codes(models.Q(user_id__in=ids)).update(revoked_at=now)
    codes = {user.pk: new_activation_code() for user in users}
    ActivationCode.objects.bulk_create(
        ActivationCode(
            user_id=user_id,
            code_hash=code_hash(user_id=user_id, code=code),
            issued_by=issued_by if issued_by is not None and issued_by.pk else None,
            expires_at=now + timedelta(days=ACTIVATION_CODE_DAYS),
        )
        for user_id, code in codes.items()
    )
    for user in users:
        audit_log_record(
            actor=issued_by,
            action=f"activation.{reason}",
            target=user,
            data={"expires_days": ACTIVATION_CODE_DAYS},
        )
    return codes


@transaction.atomic
def login_reset(*, user: User, reset_by: User) -> str:
    """Lock the user's password and issue a new one-time code; returns the code in clear."""
    user.set_unusable_password()
    user.must_change_password = True
    user.save(update_fields=["password", "must_change_password"])
    return activation_codes_issue(users=[user], issued_by=reset_by, reason="reset")[user.pk]


def activation_tries_left(keys: list[str]) -> bool:
    return all((cache.get(key) or 0) < ACTIVATION_TRIES_PER_HOUR for key in keys)


def activation_wrong_try_count(keys: list[str]) -> None:
    for key in keys:
        cache.add(key, 0, TRIES_WINDOW_SECONDS)
        try:
            cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, TRIES_WINDOW_SECONDS)


def activation_wrong_code() -> ActivationError:
    return ActivationError(
        _(
            "This username and activation code do not match, or the code was used, replaced "
            "by a newer slip or has expired. Ask your head teacher for a new one."
        ),
        code="wrong_code",
    )


def activation_code_check(*, username: str, code: str, ip_address: str = "") -> User:
    """The user the code opens; ActivationError otherwise (too many tries count as wrong)."""
    username = (username or "").strip()
    keys = [f"activation:user:{username.lower()}", f"activation:ip:{ip_address or 'unknown'}"]
    if not activation_tries_left(keys):
        raise ActivationError(
            _("Too many wrong activation codes. Please try again in an hour."), code="throttled"
        )
    user = User.objects.filter(username=username, is_active=True).first()
    if user is not None:
        wanted = code_hash(user_id=user.pk, code=code)
        now = timezone.now()
        for stored in _open_codes(models.Q(user=user)).filter(expires_at__gt=now):
            if constant_time_compare(stored.code_hash, wanted):
                user._activation_code = stored
                return user
    activation_wrong_try_count(keys)
    raise activation_wrong_code()


@transaction.atomic
def activation_code_redeem(*, user: User, password: str) -> User:
    """Use the code `activation_code_check` found: the new password set, the code spent."""
    stored = ActivationCode.objects.select_for_update().get(pk=user._activation_code.pk)
    if stored.used_at is not None or stored.revoked_at is not None:
        raise activation_wrong_code()
    password_validation.validate_password(password, user)
    stored.used_at = timezone.now()
    stored.save(update_fields=["used_at"])
    user.set_password(password)
    user.must_change_password = False
    user.save(update_fields=["password", "must_change_password"])
    audit_log_record(actor=user, action="activation.use", target=user)
    return user


def user_is_activated(user: User | None) -> bool:
    return bool(user is not None and user.has_usable_password() and not user.must_change_password)


# ------------------------------------------------------------------------------
# The activation page
# ------------------------------------------------------------------------------
class ActivationForm(forms.Form):
    username = forms.CharField(
        label=gettext_lazy("Username (students: your 学籍号)"),
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "username", "autofocus": True}),
    )
    code = forms.CharField(
        label=gettext_lazy("Activation code"),
        max_length=20,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "autocapitalize": "characters"}
        ),
    )
    password1 = forms.CharField(
        label=gettext_lazy("New password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    password2 = forms.CharField(
        label=gettext_lazy("New password again"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, *args, ip_address: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.ip_address = ip_address
        self.user: User | None = None

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        if data["password1"] != data["password2"]:
            self.add_error("password2", _("The two passwords differ."))
            return data
        try:
            self.user = activation_code_check(
                username=data["username"], code=data["code"], ip_address=self.ip_address
            )
        except ActivationError as error:
            self.add_error("code", error)
            return data
        try:
            password_validation.validate_password(data["password1"], self.user)
        except ValidationError as error:
            self.add_error("password1", error)
        return data


@never_cache
@sensitive_post_parameters("code", "password1", "password2")
def activate(request: HttpRequest) -> HttpResponse:
    """Code from the slip and a new password: the account opens and the user is signed in."""
    form = ActivationForm(request.POST or None, ip_address=get_client_ip_address(request) or "")
    if request.method == "POST" and form.is_valid():
        try:
            user = activation_code_redeem(user=form.user, password=form.cleaned_data["password1"])
        except ValidationError as error:
            form.add_error("code", error)
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            return redirect(settings.LOGIN_REDIRECT_URL)
    return render(
        request,
        "registration/activate.html",
        {"form": form},
        status=400 if form.errors else 200,
    )


class PasswordChangeView(auth_views.PasswordChangeView):
    """Django's change page; choosing one's own password lifts `must_change_password`."""

    def form_valid(self, form):
        response = super().form_valid(form)
        user = form.user
        if user.must_change_password:
            User.objects.filter(pk=user.pk).update(must_change_password=False)
            user.must_change_password = False
        audit_log_record(actor=user, action="password.change", target=user)
        return response
