import os
from pathlib import Path

import pytest

SCREENSHOT_DIR = os.environ.get("SCREENSHOT_DIR")


@pytest.fixture
def screenshot(page):
    """Save a full-page screenshot when SCREENSHOT_DIR is set (for looking at the pages)."""

    def take(name: str) -> None:
        if SCREENSHOT_DIR:
            Path(SCREENSHOT_DIR).mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(Path(SCREENSHOT_DIR) / f"{name}.png"), full_page=True)

    return take


def login(page, live_server, username: str, password: str) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
