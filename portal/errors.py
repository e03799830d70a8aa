"""The site's own error pages: in its layout and the reader's language, each with a way home."""

import re

from django.http import HttpRequest, HttpResponse
from django.template import loader
from django.template.exceptions import TemplateDoesNotExist
from django.utils.translation import gettext as _
from django.views.decorators.csrf import requires_csrf_token

# An absolute file path (POSIX or Windows) of two parts or more, standing on its own in a
# message (after a space, a quote or the start: not the path of a URL), up to the next space.
_SERVER_PATH = re.compile(r"""(?<![^\s'"(=])(?:[A-Za-z]:)?(?:[/\\][^\s'"/\\]+){2,}[/\\]?""")


def without_server_paths(text: str) -> str:
    """A stored error or destination as a user may see it: file paths cut to their last part.

    Error texts of file operations name the server's folders ("No such file or directory:
    '/srv/portal/var/…'"); a user needs the file's name at most, never where the server keeps it.
    """

    def last_part(match: re.Match) -> str:
        return "…/" + re.split(r"[/\\]", match.group(0).rstrip("/\\"))[-1]

    return _SERVER_PATH.sub(last_part, text)


SERVER_ERROR_FALLBACK = "<!DOCTYPE html><title>500</title><h1>Server error (500)</h1>"


def _page(request: HttpRequest, template: str, status: int) -> HttpResponse:
    return HttpResponse(loader.render_to_string(template, request=request), status=status)


@requires_csrf_token
def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    return _page(request, "400.html", 400)


@requires_csrf_token
def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    return _page(request, "403.html", 403)


@requires_csrf_token
def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    return _page(request, "404.html", 404)


@requires_csrf_token
def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """A form sent without a valid token: most often a page left open past its session."""
    return _page(request, "403_csrf.html", 403)


def server_error(request: HttpRequest) -> HttpResponse:
    """Rendered without the request's context: whatever failed may fail again inside it."""
    try:
        body = loader.render_to_string("500.html", {"title": _("Server error")})
    except TemplateDoesNotExist:
        body = SERVER_ERROR_FALLBACK
    return HttpResponse(body, status=500)
