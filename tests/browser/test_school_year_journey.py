"""The school year in a real browser, end to end: a school admin uploads a three-class roster
and prints a class's login slips; a student activates with the slip's code and applies for two
sessions; the coordinator cancels one and moves the other; the student reads both in their
notifications, in Chinese and then in English; the city admin closes the year and the
graduates' verification pages still answer."""

import io
import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect
from pypdf import PdfReader

from bases.models import Application, ApplicationStatus, Session
from portal.models import Role
from students.certificates import certificate_issue
from students.models import RecordStatus, SchoolYearClose, Student
from students.progress import school_year_of
from tests.browser.conftest import login
from tests.factories import (
    PASSWORD,
    CoordinatorFactory,
    PostFactory,
    SchoolAdminFactory,
    SchoolClassFactory,
    SchoolFactory,
    SessionFactory,
    StudentFactory,
    UserFactory,
)
from tests.students.progress_helpers import add_record
from tests.students.roster_helpers import roster_xlsx, school_rows

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

PHONE = {"width": 360, "height": 740}
NEW_PASSWORD = "Spring-in-Xuhui-2026"


def slips_text(path) -> str:
    with open(path, "rb") as file:
        return "".join(p.extract_text() for p in PdfReader(io.BytesIO(file.read())).pages)


def sign_out(page) -> None:
    page.context.clear_cookies()


def test_a_school_year_from_roster_to_closing(page, live_server, tmp_path, screenshot):
    today = timezone.localdate()
    school = SchoolFactory(name="上海市徐汇中学")
    SchoolAdminFactory(user__username="schooladmin", school=school)
    coordinator = CoordinatorFactory(user__username="coordinator", base__name="徐汇区图书馆")
    post = PostFactory(base=coordinator.base, title="图书管理员")
    week = (timezone.localtime() + timedelta(days=7)).replace(
        hour=9, minute=0, second=0, microsecond=0
    )
    typhoon = SessionFactory(post=post, starts_at=week)
    moved = SessionFactory(post=post, starts_at=week + timedelta(days=1))
    UserFactory(username="cityadmin", role=Role.CITY_ADMIN)
    # A graduate of this school year, with a certificate to verify after the year closes.
    graduate = StudentFactory(
        name="毕业生", school_class=SchoolClassFactory(entry_year=school_year_of(today) - 2)
    )
    add_record(graduate, day=today - timedelta(days=3), status=RecordStatus.IN_NOTICE)
    certificate = certificate_issue(student=graduate, issued_by=None)

    # 1. The school admin uploads the roster of three classes and confirms it.
    page.set_viewport_size(PHONE)
    sheet = tmp_path / "名册.xlsx"
    sheet.write_bytes(roster_xlsx(school_rows(classes=3, per_class=4)))
    login(page, live_server, "schooladmin", PASSWORD)
    page.get_by_test_id("roster-link").click()
    page.set_input_files("input[type=file]", str(sheet))
    page.get_by_role("button", name="校验文件").click()
    expect(page.get_by_test_id("classes_created")).to_have_text("3")
    expect(page.get_by_test_id("students_created")).to_have_text("12")
    page.get_by_role("button", name="确认并保存").click()
    expect(page.get_by_test_id("import-status")).to_have_text("已导入")

    # 2. ... and prints (downloads) the first class's login slips.
    page.get_by_role("link", name="打印各班登录凭条").click()
    page.get_by_test_id("roster-class").filter(has_text="2025级1班").get_by_test_id(
        "class-logins-link"
    ).click()
    with page.expect_download() as download:
        page.get_by_role("button", name="打印登录凭条（PDF）").click()
    text = slips_text(download.value.path())
    student = Student.objects.get(student_number="G2025010001")
    code = re.findall(r"[A-Z2-9]{4}-[A-Z2-9]{4}", text.split(student.student_number, 1)[1])[0]

    # 3. The student activates with the slip's code and applies for both sessions.
    sign_out(page)
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_test_id("activate-link").click()
    page.fill("#id_username", student.student_number)
    page.fill("#id_code", code)
    page.fill("#id_password1", NEW_PASSWORD)
    page.fill("#id_password2", NEW_PASSWORD)
    page.get_by_role("button", name="激活并登录").click()
    expect(page).to_have_url(re.compile(r"/dashboard"))
    for session in (typhoon, moved):
        page.goto(f"{live_server.url}/posts/{post.pk}/")
        page.locator(f"#session-{session.pk}").get_by_test_id("apply").click()
        expect(page.get_by_test_id("applications")).to_contain_text("已确认")
    assert set(Application.objects.filter(student=student).values_list("session_id", "status")) == {
        (typhoon.pk, ApplicationStatus.CONFIRMED),
        (moved.pk, ApplicationStatus.CONFIRMED),
    }

    # 4. The coordinator cancels one session (a typhoon) and moves the other an hour later.
    sign_out(page)
    login(page, live_server, "coordinator", PASSWORD)
    page.goto(f"{live_server.url}/manage/sessions/{typhoon.pk}/cancel/")
    expect(page.get_by_test_id("affected")).to_contain_text("1")
    page.fill("#id_reason", "台风预警，场馆关闭")
    page.get_by_test_id("session-cancel-form").get_by_role("button").click()
    page.goto(f"{live_server.url}/manage/sessions/{moved.pk}/edit/")
    page.fill("#id_start_time", "10:00")
    page.fill("#id_end_time", "13:00")
    page.get_by_test_id("session-edit-form").get_by_role("button").click()
    expect(page.locator(".messages")).to_be_visible()
    moved.refresh_from_db()
    assert timezone.localtime(moved.starts_at).hour == 10
    assert Session.objects.get(pk=typhoon.pk).cancelled_at is not None

    # 5. The student reads both in their notifications, in Chinese, then in English.
    sign_out(page)
    login(page, live_server, student.student_number, NEW_PASSWORD)
    page.goto(f"{live_server.url}/notifications/")
    expect(page.get_by_test_id("notifications-title")).to_have_text("通知")
    items = page.get_by_test_id("notification")
    expect(items.filter(has_text="基地已取消")).to_contain_text("台风预警，场馆关闭")
    changed = items.filter(has_text="基地调整了您报名的场次")
    expect(changed).to_contain_text("10:00")
    screenshot("school-year-notifications-zh")
    page.get_by_test_id("language-switcher").select_option("en")
    expect(page.get_by_test_id("notifications-title")).to_have_text("Notifications")
    items = page.get_by_test_id("notification")
    expect(items.filter(has_text="The base cancelled")).to_contain_text("台风预警，场馆关闭")
    expect(items.filter(has_text="The base changed a session you applied for")).to_contain_text(
        "10:00"
    )
    expect(page.locator("main")).not_to_contain_text("基地已取消")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screenshot("school-year-notifications-en")

    # 6. The city admin closes the year; the graduate's verification page still answers.
    sign_out(page)
    page.set_viewport_size({"width": 1280, "height": 900})
    login(page, live_server, "cityadmin", PASSWORD)
    page.goto(f"{live_server.url}/school-year/close/?closed_on={today.isoformat()}&grace_days=0")
    expect(page.get_by_test_id("plan-graduates")).to_have_text("1")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_test_id("close-form").get_by_role("button").click()
    expect(page.locator(".messages")).to_be_visible()
    assert SchoolYearClose.objects.count() == 1
    graduate.user.refresh_from_db()
    assert not graduate.user.is_active  # no grace: their login is closed at once

    sign_out(page)
    response = page.goto(f"{live_server.url}/verify/{certificate.code}/")
    assert response.status == 200
    expect(page.get_by_test_id("verify-result")).to_be_visible()
    screenshot("school-year-verification")
