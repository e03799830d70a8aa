"""Display preferences a visitor picks in the header, kept in a cookie (signed in or not).

关怀版 (large text) scales the root font size; the page reads the choice through the
`portal.context_processors.navigation` context, so no script is needed to apply it.
"""

from django.http import HttpRequest, HttpResponseRedirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

LARGE_TEXT_COOKIE = "portal_large_text"
LARGE_TEXT_MAX_AGE = 365 * 24 * 3600


def large_text_on(request: HttpRequest) -> bool:
    """True when the visitor chose the large-text mode."""
    return request.COOKIES.get(LARGE_TEXT_COOKIE) == "1"


@require_POST
def text_size(request: HttpRequest) -> HttpResponseRedirect:
    """Turn the large-text mode on (`large=1`) or off, then go back to the page it came from."""
    target = request.POST.get("next", "/")
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = "/"
    response = HttpResponseRedirect(target)
    if request.POST.get("large") == "1":
        response.set_cookie(
            LARGE_TEXT_COOKIE,
            "1",
            max_age=LARGE_TEXT_MAX_AGE,
            samesite="Lax",
            secure=request.is_secure(),
            httponly=True,
        )
    else:
        response.delete_cookie(LARGE_TEXT_COOKIE, samesite="Lax")
    return response
