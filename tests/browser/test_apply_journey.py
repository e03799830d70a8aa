"""A student finds a post by district on a phone, applies, and the coordinator sees them."""

import pytest
from playwright.sync_api import expect

from bases.models import Application, ApplicationStatus
from tests.browser.conftest import login
from tests.factories import (
    PASSWORD,
    CoordinatorFactory,
    SessionFactory,
    StudentFactory,
    category,
    district,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

PHONE = {"width": 360, "height": 740}


def test_a_student_filters_applies_and_the_coordinator_sees_them(page, live_server, screenshot):
    page.set_viewport_size(PHONE)
    coordinator = CoordinatorFactory(user__username="coordinator", base__name="徐汇区图书馆")
    session = SessionFactory(
        post__base=coordinator.base, post__title="图书管理员", capacity=30, taken=0
    )
    SessionFactory(post__title="医院分诊引导", post__category=category("career_experience"))
    SessionFactory(post__title="浦东岗位", post__base__district=district("310115"))
    StudentFactory(user__username="student", name="李明")

    login(page, live_server, "student", PASSWORD)
    page.goto(live_server.url + "/")
    page.get_by_test_id("district-310104").click()
    expect(page.get_by_test_id("district-title")).to_contain_text("徐汇区")
    expect(page.get_by_test_id("post-table")).to_contain_text("医院分诊引导")

    page.locator("details.filters summary").click()
    page.select_option("#id_category", str(category().pk))
    page.check("#id_free")
    page.get_by_test_id("filter-submit").click()
    table = page.get_by_test_id("post-table")
    expect(table).to_contain_text("图书管理员")
    expect(table).not_to_contain_text("医院分诊引导")
    screenshot("listing-filtered-phone")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    table.get_by_role("link", name="图书管理员").click()
    expect(page.get_by_test_id("post-title")).to_have_text("图书管理员")
    expect(page.get_by_test_id("session").first).to_contain_text("30")
    page.get_by_test_id("apply").first.click()
    expect(page.locator(".messages")).to_contain_text("图书管理员")
    expect(page.get_by_test_id("applications")).to_contain_text("已确认")
    screenshot("my-applications-phone")
    application = Application.objects.get(session=session)
    assert application.status == ApplicationStatus.CONFIRMED

    page.context.clear_cookies()
    login(page, live_server, "coordinator", PASSWORD)
    page.goto(f"{live_server.url}/manage/sessions/{session.pk}/applicants/")
    expect(page.locator("main")).to_contain_text("李明")
    expect(page.locator("main")).to_contain_text(application.student.masked_student_number)
    screenshot("applicants-phone")
