"""The key pages under the Content-Security-Policy in a real browser: nothing is blocked, and
what inline handlers used to do (language switch, confirmations, progress bars) still works."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from bases.models import AttendanceScan, Session
from tests.browser.conftest import login
from tests.factories import (
    PASSWORD,
    ApplicationFactory,
    CoordinatorFactory,
    StudentFactory,
    UserFactory,
    session_ran_this_morning,
)
from tests.students.progress_helpers import add_record

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

SYNC_URL = re.compile(r"/roster/sync/$")
# Collects every violation the page reports, before any of its own scripts run.
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(event.violatedDirective + " " + (event.blockedURI || "inline"));
});
"""


@pytest.fixture
def violations(page):
    """Every CSP violation of the test's pages: the console's and the pages' own reports."""
    seen: list[str] = []
    page.add_init_script(RECORD_VIOLATIONS)
    page.on(
        "console",
        lambda message: (
            seen.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )

    def collect() -> list[str]:
        return seen + page.evaluate("window.__cspViolations || []")

    return collect


def test_the_login_page_and_a_student_dashboard_break_no_rule(page, live_server, violations):
    student = StudentFactory(user__username="student", name="李明")
    add_record(student, day=timezone.localdate() - timedelta(days=30), minutes=1200)
    page.goto(f"{live_server.url}/accounts/login/")
    expect(page.locator("#id_username")).to_be_visible()
    assert violations() == []

    login(page, live_server, "student", PASSWORD)
    expect(page.get_by_test_id("dashboard-title")).to_have_text("学生主页")
    # The bar is drawn from its data attribute: 30 of 60 credit hours fill half of it.
    bar = page.get_by_test_id("hours-bar").locator(".progress > span")
    expect(bar).to_have_attribute("data-width", "50")
    share = page.evaluate(
        "(el) => el.getBoundingClientRect().width / el.parentElement.getBoundingClientRect().width",
        bar.element_handle(),
    )
    assert 0.47 < share < 0.53
    assert violations() == []

    page.get_by_test_id("language-switcher").select_option("en")
    expect(page.get_by_test_id("dashboard-title")).to_have_text("Student dashboard")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    assert violations() == []


def test_the_roster_works_offline_and_asks_before_closing(page, live_server, violations):
    session = session_ran_this_morning(taken=1)
    ApplicationFactory(session=session, student=StudentFactory(name="王芳"))
    CoordinatorFactory(user__username="coordinator", base=session.post.base)
    login(page, live_server, "coordinator", PASSWORD)
    page.goto(f"{live_server.url}/manage/sessions/{session.pk}/roster/")
    expect(page.locator("#roster[data-ready]")).to_be_attached()

    page.context.set_offline(True)
    page.get_by_test_id("roster-row").first.get_by_test_id("check-in").click()
    expect(page.get_by_test_id("roster-row").first.get_by_test_id("time-in")).not_to_have_text("—")
    with page.expect_response(SYNC_URL):
        page.context.set_offline(False)
    page.wait_for_function(
        f"JSON.parse(localStorage.getItem('roster-queue:{session.pk}') || '[]').length === 0"
    )
    assert AttendanceScan.objects.filter(kind="in").count() == 1

    # Answering No to the confirmation leaves attendance open.
    questions: list[str] = []

    def dismiss(dialog):
        questions.append(dialog.message)
        dialog.dismiss()

    page.once("dialog", dismiss)
    page.get_by_test_id("close-attendance").click()
    expect(page.get_by_test_id("close-attendance")).to_be_visible()
    assert questions == ["确定关闭该场次的考勤吗？"]
    assert Session.objects.get(pk=session.pk).attendance_closed_at is None

    page.get_by_test_id("language-switcher").select_option("en")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    assert violations() == []


def test_the_django_admin_breaks_no_rule(page, live_server, violations):
    """The city's superuser works in Django admin: lists, a change form, an import page."""
    student = StudentFactory(name="张三")
    UserFactory(username="root", is_staff=True, is_superuser=True)
    login(page, live_server, "root", PASSWORD)
    for path in (
        "/admin/",
        "/admin/students/student/",
        f"/admin/students/student/{student.pk}/change/",
        "/admin/students/student/import/",
        "/admin/bases/session/",
    ):
        response = page.goto(f"{live_server.url}{path}")
        assert response.status == 200, path
        expect(page.locator("#content")).to_be_visible()
    # The change list's "select all" box is driven by the admin's own script file.
    page.goto(f"{live_server.url}/admin/students/student/")
    page.locator("#action-toggle").check()
    expect(page.locator("input.action-select").first).to_be_checked()
    assert violations() == []
