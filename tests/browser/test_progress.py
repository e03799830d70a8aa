"""Progress in a real browser: a student's bars and certificate, a teacher's class report files."""

import io
import re
from datetime import date, datetime, time, timedelta

import pytest
from django.utils import timezone, translation
from openpyxl import load_workbook
from playwright.sync_api import expect
from pypdf import PdfReader

from portal.models import Role
from students.models import RecordStatus
from tests.browser.conftest import login
from tests.factories import (
    PASSWORD,
    DistrictAdminFactory,
    HeadTeacherFactory,
    SchoolAdminFactory,
    SchoolClassFactory,
    StudentFactory,
    UserFactory,
)
from tests.students.progress_helpers import add_record, entry_year_with_every_state, give_state

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 900}


def fits_the_width(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]


def pdf_of(download) -> PdfReader:
    with open(download.path(), "rb") as file:
        return PdfReader(io.BytesIO(file.read()))


def test_a_student_sees_both_bars_and_a_certificate_that_verifies(page, live_server, screenshot):
    school_class = SchoolClassFactory(school__name="徐汇中学", entry_year=2025, number=3)
    student = StudentFactory(
        user__username="student", name="李明", school_class=school_class, student_number="G310101"
    )
    ledger = [
        add_record(student, day=date(2025, 10, 10), minutes=180),
        add_record(student, day=date(2025, 12, 6), minutes=150, status=RecordStatus.IN_NOTICE),
        add_record(
            student, day=date(2026, 4, 13), minutes=0, category_code="rural_practice", days=3
        ),
        add_record(student, day=date(2026, 5, 9), minutes=240, status=RecordStatus.DISPUTED),
    ]
    # A shift from 22:00 to 01:00 credits two dates.
    late = add_record(student, day=date(2026, 6, 1), minutes=180)
    late.started_at = timezone.make_aware(datetime.combine(date(2026, 6, 1), time(22)))
    late.ended_at = late.started_at + timedelta(hours=3)
    late.save()
    counted = [r for r in [*ledger, late] if r.status != RecordStatus.DISPUTED]
    minutes = sum(r.credited_minutes for r in counted if r.category.counts_as_volunteer_service)
    days = len({d for r in counted for d in r.dates})
    assert (minutes, days) == (510, 7)

    page.set_viewport_size(PHONE)
    login(page, live_server, "student", PASSWORD)
    expect(page.get_by_test_id("hours-done")).to_have_text("12.7")
    expect(page.get_by_test_id("hours-required")).to_have_text("60")
    expect(page.get_by_test_id("days-done")).to_have_text(str(days))
    expect(page.get_by_test_id("days-required")).to_have_text("90")
    expect(page.get_by_test_id("held-apart")).to_be_visible()
    expect(page.get_by_test_id("records")).to_contain_text("公示")
    expect(page.get_by_test_id("scope")).to_contain_text("徐汇中学")
    expect(page.get_by_test_id("my-code-card")).to_be_visible()
    assert fits_the_width(page)
    screenshot("progress-student-phone")

    with page.expect_download() as info:
        page.get_by_test_id("download-certificate").click()
    reader = pdf_of(info.value)
    text = reader.pages[0].extract_text()
    assert len(reader.pages) == 1
    assert "李明" in text and "G310101" in text and "12.7" in text
    url = re.search(r"https?://\S+?/verify/[A-Za-z0-9_-]{32}/", text).group(0)

    page.context.clear_cookies()
    page.goto(url)
    expect(page.get_by_test_id("verify-result")).to_have_attribute("data-state", "unchanged")
    expect(page.get_by_test_id("verify-name")).to_have_text("李*")
    expect(page.get_by_test_id("verify-hours")).to_contain_text("12.7 / 60")
    screenshot("certificate-verify-phone")

    page.set_viewport_size(DESKTOP)
    login(page, live_server, "student", PASSWORD)
    expect(page.get_by_test_id("days-chart")).to_be_visible()
    screenshot("progress-student-desktop")


@pytest.fixture
def klass():
    """A class of 8: one student in each state (named for it) and four with a few records."""
    today = timezone.localdate()
    school_class = SchoolClassFactory(
        school__name="徐汇中学", number=3, entry_year=entry_year_with_every_state(today)
    )
    HeadTeacherFactory(user__username="teacher", school_class=school_class)
    students = {}
    for number, (state, name) in enumerate(
        [("done", "王完成"), ("on_track", "李正常"), ("at_risk", "张风险"), ("behind", "赵落后")],
        start=1,
    ):
        student = StudentFactory(
            school_class=school_class, name=name, student_number=f"G31010{number:02d}"
        )
        students[state] = (student, *give_state(student, state, today=today))
    for number in range(5, 9):
        StudentFactory(school_class=school_class, student_number=f"G31010{number:02d}")
    school_class.students_by_state = students
    return school_class


def test_a_teacher_filters_at_risk_and_downloads_the_xlsx_and_the_pdf(
    page, live_server, screenshot, klass
):
    page.set_viewport_size(PHONE)
    login(page, live_server, "teacher", PASSWORD)
    page.get_by_test_id("class-report-link").first.click()
    table = page.get_by_test_id("class-report-table")
    expect(table).to_contain_text("王完成")
    assert fits_the_width(page)
    screenshot("class-report-phone")

    page.select_option("#id_state", "at_risk")
    page.get_by_test_id("report-filter-submit").click()
    expect(table).to_contain_text("张风险")
    expect(table).not_to_contain_text("王完成")
    expect(table).not_to_contain_text("赵落后")
    expect(page.get_by_test_id("result-count")).to_contain_text("1")

    student, minutes, days = klass.students_by_state["at_risk"]
    with page.expect_download() as info:
        page.get_by_test_id("download-xlsx").click()
    assert info.value.suggested_filename.endswith(".xlsx")
    with open(info.value.path(), "rb") as file:
        sheet = load_workbook(io.BytesIO(file.read())).active
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) == 2
    assert rows[1][:2] == (student.student_number, "张风险")
    assert (rows[1][4], rows[1][5]) == (minutes, days)
    assert rows[1][-1] and rows[0][-1]

    with page.expect_download() as info:
        page.get_by_test_id("download-pdf").click()
    reader = pdf_of(info.value)
    text = "".join(p.extract_text() for p in reader.pages)
    assert len(reader.pages) == 1
    assert "张风险" in text and student.student_number in text and str(days) in text
    assert "王完成" not in text

    page.select_option("#id_state", "attention")
    page.get_by_test_id("report-filter-submit").click()
    expect(table).to_contain_text("赵落后")
    expect(table).to_contain_text("张风险")

    page.set_viewport_size(DESKTOP)
    page.goto(f"{live_server.url}/reports/classes/{klass.pk}/?sort=-practice_days")
    expect(table.locator("tbody tr").first).to_contain_text("王完成")
    screenshot("class-report-desktop")

    with page.expect_download() as info:
        page.get_by_test_id("print-certificates").click()
    reader = pdf_of(info.value)
    texts = [p.extract_text() for p in reader.pages]
    # One certificate per student, each starting on a new page (a long ledger takes more).
    first_pages = [
        next(i for i, t in enumerate(texts) if f"G31010{n:02d}" in t) for n in range(1, 9)
    ]
    assert first_pages == sorted(set(first_pages)) and first_pages[0] == 0
    assert len(reader.pages) >= 8
    assert "赵落后" in texts[first_pages[3]]


def test_each_overseer_sees_their_report_with_a_chart(page, live_server, screenshot, klass):
    SchoolAdminFactory(user__username="school_admin", school=klass.school)
    DistrictAdminFactory(user__username="district_admin", district=klass.school.district)
    UserFactory(username="city_admin", role=Role.CITY_ADMIN)
    with translation.override("zh-hans"):
        class_name = str(klass.name)
    pages = {
        "school_admin": ("school-report-link", "class-chart", "class-table", class_name),
        "district_admin": ("district-report-link", "school-chart", "school-table", "徐汇中学"),
        "city_admin": ("city-report-link", "district-chart", "district-table", "徐汇区"),
    }
    for width, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
        page.set_viewport_size(viewport)
        for username, (link, chart, table, row) in pages.items():
            page.context.clear_cookies()
            login(page, live_server, username, PASSWORD)
            screenshot(f"dashboard-{username}-{width}")
            page.get_by_test_id(link).click()
            expect(page.get_by_test_id(chart)).to_be_visible()
            expect(page.get_by_test_id(table).locator(f'tr[data-group="{row}"]')).to_contain_text(
                "8"
            )
            assert fits_the_width(page), username
            screenshot(f"report-{username}-{width}")
        page.goto(f"{live_server.url}/dashboard/city/?view=bases")
        expect(page.get_by_test_id("base-use-chart")).to_be_visible()
        screenshot(f"bases-city-{width}")
