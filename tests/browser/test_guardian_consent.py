"""On a phone: a student applies for an overnight post and waits for consent; their guardian
signs in, consents on their own page, and the application is confirmed with the seat taken."""

import pytest
from playwright.sync_api import expect

from bases.models import Application, ApplicationStatus, GuardianConsent
from tests.browser.conftest import login
from tests.factories import PASSWORD, SessionFactory, StudentFactory, guardian_for

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

PHONE = {"width": 360, "height": 740}
GUARDIAN_PASSWORD = "Pa55-guardian-word"


def test_the_guardian_consents_and_the_waiting_application_is_confirmed(
    page, live_server, screenshot
):
    page.set_viewport_size(PHONE)
    session = SessionFactory(
        post__title="农耕体验",
        post__overnight=True,
        post__safety_briefing="学农期间住宿在基地宿舍，夜间不得外出。",
        capacity=10,
    )
    student = StudentFactory(user__username="student", name="李明")
    other = StudentFactory(name="王芳")
    guardian_for(student, username="parent", password=GUARDIAN_PASSWORD)

    login(page, live_server, "student", PASSWORD)
    page.goto(f"{live_server.url}/posts/{session.post_id}/")
    expect(page.get_by_test_id("needs-consent")).to_be_visible()
    page.get_by_test_id("briefing-ack").check()
    page.get_by_test_id("apply").click()
    expect(page.get_by_test_id("applications")).to_contain_text("等待监护人同意")
    application = Application.objects.get(session=session, student=student)
    assert application.status == ApplicationStatus.AWAITING_CONSENT
    session.refresh_from_db()
    assert session.taken == 0
    # Another family's child waits too: not on this guardian's page.
    Application.objects.create(
        session=session, student=other, status=ApplicationStatus.AWAITING_CONSENT
    )

    page.context.clear_cookies()
    login(page, live_server, "parent", GUARDIAN_PASSWORD)
    page.goto(f"{live_server.url}/guardian/consents/")
    rows = page.get_by_test_id("awaiting-row")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("李明")
    expect(rows.first).to_contain_text("农耕体验")
    screenshot("guardian-consents-phone")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.get_by_test_id("give-consent").click()

    expect(page.locator(".messages")).to_contain_text("李明")
    expect(page.locator(".messages")).to_contain_text("已确认")
    expect(page.get_by_test_id("no-awaiting")).to_be_visible()
    expect(page.get_by_test_id("consent-row")).to_contain_text("农耕体验")
    screenshot("guardian-consent-given-phone")
    application.refresh_from_db()
    assert application.status == ApplicationStatus.CONFIRMED
    session.refresh_from_db()
    assert session.taken == 1 and session.seats_left == 9
    consent = GuardianConsent.objects.get(student=student, post=session.post)
    assert consent.given_via == "guardian"
    assert Application.objects.get(student=other).status == ApplicationStatus.AWAITING_CONSENT
