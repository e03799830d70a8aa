"""Counting the queries an action makes, to show a page or selector costs the same at any size."""

from collections.abc import Callable
from typing import TypeVar

from django.db import connection
from django.test.utils import CaptureQueriesContext

T = TypeVar("T")


def queries_for(action: Callable[[], T]) -> tuple[int, T]:
    """Run `action`; returns how many queries it made on the default database, and its result."""
    with CaptureQueriesContext(connection) as captured:
        result = action()
    return len(captured), result
