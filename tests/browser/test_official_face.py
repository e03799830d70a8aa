"""The official face on a 360 px phone: footer, help and privacy pages, pictures that load."""

import pytest
from playwright.sync_api import expect

from tests.factories import SessionFactory, category

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

PHONE = {"width": 360, "height": 740}


def test_help_privacy_and_a_post_page_fit_a_phone_and_their_pictures_load(
    page, live_server, screenshot
):
    session = SessionFactory(post__category=category("safety_training"), post__title="消防安全实训")
    page.set_viewport_size(PHONE)
    for name, path in (
        ("help", "/help/"),
        ("privacy", "/privacy/"),
        ("post-placeholder", f"/posts/{session.post_id}/"),
        ("listing-placeholder", "/districts/310104/"),
    ):
        page.goto(f"{live_server.url}{path}")
        expect(page.get_by_test_id("site-footer")).to_be_visible()
        screenshot(f"face-{name}-phone")
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], name
        # Every picture on the page (logo, drawings) is served and decoded.
        broken = page.evaluate(
            "Array.from(document.images).filter(i => !i.complete || !i.naturalWidth)"
            ".map(i => i.src)"
        )
        assert broken == [], name
    page.goto(f"{live_server.url}/posts/{session.post_id}/")
    picture = page.get_by_test_id("post-picture")
    expect(picture).to_have_attribute("src", "/static/portal/placeholders/safety_training.svg")


def test_a_student_sees_whether_they_are_on_track_on_the_first_phone_screen(page, live_server):
    from tests.browser.conftest import login
    from tests.factories import PASSWORD, StudentFactory

    StudentFactory(user__username="student", name="李明")
    page.set_viewport_size(PHONE)
    login(page, live_server, "student", PASSWORD)
    page.goto(f"{live_server.url}/dashboard/student/")
    for testid in ("forecast", "hours-bar", "days-bar"):
        box = page.get_by_test_id(testid).bounding_box()
        assert box["y"] + box["height"] <= PHONE["height"], testid
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
