"""Pages kept in the cache as a shell every viewer shares, and a part each viewer has of their own.

A cacheable view renders its page once with `page_shell_context()` in its context: base.html then
writes a mark where the viewer's own part goes (who is signed in, sign out, text size, language:
`includes/user_nav.html`). `shell_split` cuts that page at the mark; `page_join` puts the
viewer's part in, so a warm request only joins strings. The viewer's part is rendered once per
user (their cache tag, portal.user_cache), language and text size, with marks for what differs
on every request (the CSRF token, the page's own address) filled in by `page_join`.

Marks are HTML comments: text from the database is escaped, so it can never contain one.
"""

import re

from django.core.cache import cache
from django.middleware.csrf import get_token
from django.template.loader import render_to_string
from django.utils.html import conditional_escape
from django.utils.safestring import mark_safe
from django.utils.translation import get_language

from .preferences import large_text_on

USER_PART = "<!--portal:user-part-->"
_NEXT_PATH = "<!--portal:next-path-->"
_CSRF = "<!--portal:csrf-token-->"
_CSRF_INPUT = re.compile(r'(name="csrfmiddlewaretoken" value=")[^"]*(")')
USER_PART_SECONDS = 3600


def page_shell_context() -> dict:
    """Context for rendering a page as a shell: base.html marks where the viewer's part goes."""
    return {"page_shell": {"user_part": mark_safe(USER_PART)}}


def shell_split(html: str) -> tuple[str, str] | None:
    """(before, after) the viewer's part of a page rendered as a shell; None without the mark."""
    before, mark, after = html.partition(USER_PART)
    return (before, after) if mark else None


def shell_variant(request) -> str:
    """What besides the view's own arguments changes a shell: the language and the text size."""
    return f"{get_language()}:{int(large_text_on(request))}"


def user_part_key(request) -> str | None:
    user = request.user
    if not user.is_authenticated:
        return f"user-part:anonymous:{shell_variant(request)}"
    tag = getattr(user, "_cache_tag", None)
    if tag is None:
        return None
    return f"user-part:{user.pk}:{tag[0]}:{tag[1]}:{shell_variant(request)}"


def _user_part(request, key: str | None, part: str | None) -> str:
    if part is None:
        html = render_to_string(
            "includes/user_nav.html", {"next_path": mark_safe(_NEXT_PATH)}, request=request
        )
        part = _CSRF_INPUT.sub(lambda m: m.group(1) + _CSRF + m.group(2), html)
        if key:
            cache.set(key, part, USER_PART_SECONDS)
    return part


def page_join(request, before: str, after: str, *, found: dict | None = None) -> str:
    """The page for this request: the shell around the viewer's own part (taken from `found`,
    the caller's cache read, when it asked for `user_part_key(request)`)."""
    key = user_part_key(request)
    if found is None and key is not None:
        found = cache.get_many([key])
    part = _user_part(request, key, (found or {}).get(key))
    part = part.replace(_NEXT_PATH, conditional_escape(request.get_full_path()))
    part = part.replace(_CSRF, get_token(request))
    return before + part + after
