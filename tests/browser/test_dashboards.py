"""Each role signs in through a real browser, lands on its dashboard in Chinese, then English."""

import pytest
from playwright.sync_api import expect

from portal.models import Role
from tests.browser.conftest import login
from tests.factories import (
    PASSWORD,
    CoordinatorFactory,
    DistrictAdminFactory,
    HeadTeacherFactory,
    SchoolAdminFactory,
    StudentFactory,
    UserFactory,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

DASHBOARDS = {
    "student": ("学生主页", "Student dashboard"),
    "coordinator": ("基地协调员主页", "Coordinator dashboard"),
    "teacher": ("班主任主页", "Head teacher dashboard"),
    "school_admin": ("学校管理员主页", "School admin dashboard"),
    "district_admin": ("区管理员主页", "District admin dashboard"),
    "city_admin": ("市管理员主页", "City admin dashboard"),
}


def _personas():
    student = StudentFactory(user__username="student", name="李明")
    school_class = student.school_class
    HeadTeacherFactory(user__username="teacher", school_class=school_class)
    SchoolAdminFactory(user__username="school_admin", school=school_class.school)
    DistrictAdminFactory(user__username="district_admin", district=school_class.school.district)
    CoordinatorFactory(user__username="coordinator", base__name="徐汇区图书馆")
    UserFactory(username="city_admin", role=Role.CITY_ADMIN)
    return student


def test_each_role_lands_on_its_dashboard_in_chinese_and_can_switch_to_english(
    page, live_server, screenshot
):
    student = _personas()
    scope_text = {
        "student": student.school_class.school.name,
        "coordinator": "徐汇区图书馆",
        "teacher": student.school_class.school.name,
        "school_admin": student.school_class.school.code,
        "district_admin": "徐汇区",
        "city_admin": "浦东新区",
    }
    for username, (chinese, english) in DASHBOARDS.items():
        page.context.clear_cookies()
        login(page, live_server, username, PASSWORD)
        expect(page.get_by_test_id("dashboard-title")).to_have_text(chinese)
        expect(page.get_by_test_id("scope")).to_contain_text(scope_text[username])
        expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
        screenshot(f"dashboard-{username}-zh")

        page.get_by_test_id("language-switcher").select_option("en")
        expect(page.get_by_test_id("dashboard-title")).to_have_text(english)
        expect(page.locator("html")).to_have_attribute("lang", "en")
        screenshot(f"dashboard-{username}-en")


def test_a_wrong_password_shows_an_error_in_chinese(page, live_server):
    UserFactory(username="someone")
    login(page, live_server, "someone", "wrong-password")
    expect(page.get_by_role("alert")).to_contain_text("用户名")
