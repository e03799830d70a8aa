"""Response headers that Django's SecurityMiddleware does not set; the signed-in user from the
cache; the password change a user must make first."""

from collections.abc import Callable

from django.conf import settings
from django.contrib.auth.middleware import AuthenticationMiddleware
from django.http import HttpRequest, HttpResponse
from django.utils.functional import SimpleLazyObject


def permissions_policy_header(policy: dict[str, list[str]]) -> str:
    """`camera=(), geolocation=(self)`: each feature with the origins allowed to use it."""
    return ", ".join(
        f"{feature}=({' '.join(origins)})" for feature, origins in sorted(policy.items())
    )


class PermissionsPolicyMiddleware:
    """Sends `Permissions-Policy` from settings.PERMISSIONS_POLICY unless a view set its own."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.header = permissions_policy_header(getattr(settings, "PERMISSIONS_POLICY", {}))

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if self.header:
            response.headers.setdefault("Permissions-Policy", self.header)
        return response


class PasswordChangeRequiredMiddleware:
    """A signed-in user whose password someone else chose sees only the password change page
    (and can sign out or switch language) until they choose their own."""

    ALLOWED_URL_NAMES = ("password_change", "password_change_done", "logout", "set_language")

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and getattr(user, "must_change_password", False)
            and not request.path.startswith((settings.STATIC_URL or "/static/",))
        ):
            from django.shortcuts import redirect
            from django.urls import Resolver404, resolve

            try:
                name = resolve(request.path_info).url_name
            except Resolver404:
                name = None
            if name not in self.ALLOWED_URL_NAMES:
                return redirect("password_change")
        return self.get_response(request)


def _request_user(request: HttpRequest):
    if not hasattr(request, "_cached_user"):
        from .user_cache import request_user

        request._cached_user = request_user(request)
    return request._cached_user


class CachedAuthenticationMiddleware(AuthenticationMiddleware):
    """Django's `AuthenticationMiddleware`, reading the user through the cache
    (portal.user_cache): a page that shows who is signed in reads no user row."""

    def process_request(self, request: HttpRequest) -> None:
        super().process_request(request)
        request.user = SimpleLazyObject(lambda: _request_user(request))
