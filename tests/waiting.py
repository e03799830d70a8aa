"""Waiting for a condition instead of sleeping a fixed time."""

import time
from collections.abc import Callable


def wait_until(condition: Callable[[], object], *, timeout: float, interval: float = 0.1) -> bool:
    """Poll `condition` until it returns something true or `timeout` seconds pass; says which."""
    deadline = time.monotonic() + timeout
    while True:
        if condition():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)
