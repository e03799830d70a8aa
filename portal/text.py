"""Small pieces of shown text that every app words the same way."""

from collections.abc import Iterable

from django.utils.translation import pgettext


def join_list(items: Iterable) -> str:
    """Items joined the way the current language lists them: 、 in Chinese, ", " in English."""
    return pgettext("list separator", ", ").join(str(item) for item in items)
