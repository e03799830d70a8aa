"""Signing in safely: failed logins throttled (django-axes), lock-outs explained and audited,
password-reset requests rate-limited; the language a user reads in, kept for their e-mails."""

from datetime import timedelta

from axes.backends import AxesStandaloneBackend
from axes.helpers import get_client_ip_address
from axes.models import AccessAttempt
from axes.signals import user_locked_out
from axes.utils import reset
from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.signals import user_logged_in
from django.core.cache import cache
from django.db import transaction
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.i18n import set_language

from .models import User
from .services import audit_log_record

RESET_WINDOW_SECONDS = 3600


class LoginThrottleBackend(AxesStandaloneBackend):
    """Axes' check on every sign-in through a page; a call without a request is no web sign-in
    (a management command, the test client's `login`), so it is left to the next backend."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


def unlock_time() -> timedelta:
    """How long a lock-out lasts from the latest failure (each failure while locked restarts it)."""
    return settings.AXES_COOLOFF_TIME


def lockout_response(request: HttpRequest, original_response, credentials) -> HttpResponse:
    """The locked-out page: when signing in works again, in the reader's language and time zone."""
    until = timezone.localtime(timezone.now() + unlock_time())
    minutes = int(unlock_time().total_seconds() // 60)
    return render(
        request,
        "registration/locked_out.html",
        {"until": until, "minutes": minutes},
        status=settings.AXES_HTTP_RESPONSE_CODE,
    )


@receiver(user_locked_out)
def _audit_lockout(sender, request, username, ip_address, **kwargs):
    user = User.objects.filter(username=username).first() if username else None
    target = user or AccessAttempt.objects.filter(ip_address=ip_address).order_by("-id").first()
    if target is not None:
        audit_log_record(
            actor=None,
            action="login.locked_out",
            target=target,
            data={"username": username or "", "ip_address": ip_address or ""},
        )


@transaction.atomic
def user_sign_in_unlock(*, user: User, unlocked_by: User) -> int:
    """Lift a lock-out of the account; returns how many failure records were cleared."""
    cleared = reset(username=user.username) or 0
    audit_log_record(
        actor=unlocked_by, action="login.unlocked", target=user, data={"cleared": cleared}
    )
    return cleared


def _take_reset_allowance(key: str, limit: int) -> bool:
    cache.add(key, 0, RESET_WINDOW_SECONDS)
    try:
        return cache.incr(key) <= limit
    except ValueError:  # expired between add and incr
        cache.set(key, 1, RESET_WINDOW_SECONDS)
        return True


class PasswordResetView(auth_views.PasswordResetView):
    """Django's reset by e-mail, limited per address and per e-mail each hour, naming the site."""

    def form_valid(self, form):
        # The mail names the portal and links to its public address, never the request's host.
        self.extra_email_context = {
            "site_name": settings.PORTAL_NAME,
            "site_url": settings.PORTAL_SITE_URL.rstrip("/"),
        }
        email = form.cleaned_data["email"].strip().lower()
        ip = get_client_ip_address(self.request) or "unknown"
        allowed = _take_reset_allowance(
            f"password-reset:ip:{ip}", settings.PASSWORD_RESET_LIMIT_PER_ADDRESS
        ) and _take_reset_allowance(
            f"password-reset:email:{email}", settings.PASSWORD_RESET_LIMIT_PER_EMAIL
        )
        if not allowed:
            form.add_error(
                None,
                _("Too many password reset requests. Please try again in an hour."),
            )
            response = self.form_invalid(form)
            response.status_code = 429
            return response
        return super().form_valid(form)


# ------------------------------------------------------------------------------
# The language a user reads in (their e-mails follow it)
# ------------------------------------------------------------------------------
def user_language_remember(*, user: User, language: str) -> None:
    """Keep `language` as the user's, for what is written to them while they are away."""
    if language in dict(settings.LANGUAGES) and user.pk and user.language != language:
        User.objects.filter(pk=user.pk).update(language=language)
        user.language = language


@receiver(user_logged_in)
def _remember_sign_in_language(sender, request, user, **kwargs):
    if request is not None:
        user_language_remember(user=user, language=translation.get_language())


def language_set(request: HttpRequest) -> HttpResponse:
    """Django's language switch, which also keeps the choice on the signed-in user."""
    response = set_language(request)
    if request.method == "POST" and request.user.is_authenticated:
        user_language_remember(user=request.user, language=request.POST.get("language", ""))
    return response
