"""Screenshots of the running demo for the README: `python scripts/screenshots.py URL`.

Signs in as each demo login (password demo12345 unless DEMO_PASSWORD is set) and saves pages at
desktop and phone widths into docs/screenshots/. Uses Debian's Chromium through Playwright.
"""

import os
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

OUT = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PAGES = {
    "": [("home", "/"), ("district-posts", "/districts/310104/")],
    "student": [
        ("dashboard-student-zh", "/dashboard/student/"),
        ("my-applications", "/applications/"),
        ("my-code", "/me/code/"),
        ("my-records", "/records/"),
    ],
    "coordinator": [
        ("dashboard-coordinator-zh", "/dashboard/coordinator/"),
        ("my-posts", "/manage/posts/"),
        ("disputes", "/disputes/"),
    ],
    "teacher": [("dashboard-teacher-zh", "/dashboard/teacher/"), ("notice", "/notice/")],
    "school_admin": [("dashboard-school-zh", "/dashboard/school/")],
    "district_admin": [
        ("dashboard-district-zh", "/dashboard/district/"),
        ("review-queue", "/review/posts/"),
    ],
    "city_admin": [("dashboard-city-zh", "/dashboard/city/"), ("export", "/export/")],
}


def main(base: str) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    password = os.environ.get("DEMO_PASSWORD", "demo12345")
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=os.environ.get("CHROMIUM", "/usr/bin/chromium"), args=ARGS
        )
        for username, pages in PAGES.items():
            for width, suffix in ((1280, ""), (360, "-phone")):
                context = browser.new_context(
                    locale="zh-CN", viewport={"width": width, "height": 800}
                )
                page = context.new_page()
                if username:
                    page.goto(f"{base}/accounts/login/")
                    page.fill("#id_username", username)
                    page.fill("#id_password", password)
                    page.click("button[type=submit]")
                for name, path in pages:
                    page.goto(base + path)
                    page.screenshot(path=str(OUT / f"{name}{suffix}.png"), full_page=True)
                context.close()
        browser.close()


if __name__ == "__main__":
    main(sys.argv[1].rstrip("/") if len(sys.argv) > 1 else "http://127.0.0.1:8000")
