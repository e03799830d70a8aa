"""Small pieces of shown text that every app words the same way."""

import re
from collections.abc import Iterable

from django.utils.translation import pgettext


def join_list(items: Iterable) -> str:
    """Items joined the way the current language lists them: 、 in Chinese, ", " in English."""
    return pgettext("list separator", ", ").join(str(item) for item in items)


# A server path: a "/" that starts a word (not inside a URL such as https://host/path), and the
# characters up to the next space or quote.
SERVER_PATH = re.compile(r"(?<![\w:/.])/[^\s'\"]+")


def without_server_paths(text: str) -> str:
    """`text` with every server folder or file path replaced by "…", for people to read."""
    return SERVER_PATH.sub("…", text)
