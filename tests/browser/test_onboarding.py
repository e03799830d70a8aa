"""Onboarding in a real browser: the school admin uploads a three-class roster, sees its
preview, confirms, prints a class's login slips, and a student activates with the slip's code."""

import io
import re

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader

from students.models import Student
from tests.browser.conftest import login
from tests.factories import PASSWORD, SchoolAdminFactory, SchoolFactory
from tests.students.roster_helpers import roster_xlsx, school_rows

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

PHONE = {"width": 360, "height": 740}


def test_school_admin_onboards_three_classes_and_a_student_activates(
    page, live_server, tmp_path, screenshot
):
    admin = SchoolAdminFactory(
        user__username="schooladmin", school=SchoolFactory(name="上海市徐汇中学")
    )
    sheet = tmp_path / "名册.xlsx"
    sheet.write_bytes(roster_xlsx(school_rows(classes=3, per_class=4)))

    page.set_viewport_size(PHONE)
    login(page, live_server, "schooladmin", PASSWORD)
    page.get_by_test_id("roster-link").click()
    expect(page.locator("h1")).to_have_text("学校名册")
    page.set_input_files("input[type=file]", str(sheet))
    page.get_by_role("button", name="校验文件").click()

    expect(page.get_by_test_id("students_created")).to_have_text("12")
    expect(page.get_by_test_id("classes_created")).to_have_text("3")
    expect(page.get_by_test_id("teachers_created")).to_have_text("3")
    assert not Student.objects.exists()
    screenshot("onboarding-preview")
    page.get_by_role("button", name="确认并保存").click()
    expect(page.get_by_test_id("import-status")).to_have_text("已导入")
    assert Student.objects.filter(school_class__school=admin.school).count() == 12

    page.get_by_role("link", name="打印各班登录凭条").click()
    page.get_by_test_id("roster-class").filter(has_text="2025级1班").get_by_test_id(
        "class-logins-link"
    ).click()
    expect(page.get_by_test_id("login-row")).to_have_count(4)
    with page.expect_download() as info:
        page.get_by_role("button", name="打印登录凭条（PDF）").click()
    with open(info.value.path(), "rb") as file:
        text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(file.read())).pages)
    student = Student.objects.get(student_number="G2025010001")
    assert student.name in text
    code = re.findall(r"[A-Z2-9]{4}-[A-Z2-9]{4}", text.split(student.student_number, 1)[1])[0]

    page.context.clear_cookies()
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_test_id("activate-link").click()
    page.fill("#id_username", student.student_number)
    page.fill("#id_code", code)
    page.fill("#id_password1", "Spring-in-Xuhui-2026")
    page.fill("#id_password2", "Spring-in-Xuhui-2026")
    page.get_by_role("button", name="激活并登录").click()
    expect(page).to_have_url(re.compile(r"/dashboard/student/|/$|/dashboard"))
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screenshot("onboarding-activated")
    student.user.refresh_from_db()
    assert student.user.check_password("Spring-in-Xuhui-2026")
