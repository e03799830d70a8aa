"""On a phone: a student reads a post's safety briefing, must tick it to apply, and waits for
their guardian's consent; the school admin records the paper form and the seat is theirs."""

import pytest
from playwright.sync_api import expect

from bases.models import Application, ApplicationStatus
from tests.browser.conftest import login
from tests.factories import (
    PASSWORD,
    SchoolAdminFactory,
    SessionFactory,
    StudentFactory,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

PHONE = {"width": 360, "height": 740}
BRIEFING = "学农期间住宿在基地宿舍：夜间不得外出，田间劳动须穿长袖长裤和防滑鞋。"


def test_briefing_tick_then_consent_on_paper_confirms_the_seat(page, live_server, screenshot):
    page.set_viewport_size(PHONE)
    session = SessionFactory(
        post__title="农耕体验", post__overnight=True, post__safety_briefing=BRIEFING, capacity=10
    )
    student = StudentFactory(user__username="student", name="李明")
    SchoolAdminFactory(user__username="schooladmin", school=student.school_class.school)

    login(page, live_server, "student", PASSWORD)
    page.goto(f"{live_server.url}/posts/{session.post_id}/")
    expect(page.get_by_test_id("briefing")).to_contain_text("夜间不得外出")
    expect(page.get_by_test_id("needs-consent")).to_be_visible()
    screenshot("briefing-phone")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.get_by_test_id("briefing-ack").check()
    page.get_by_test_id("apply").click()
    expect(page.get_by_test_id("applications")).to_contain_text("等待监护人同意")
    screenshot("awaiting-consent-phone")
    application = Application.objects.get(session=session)
    assert application.status == ApplicationStatus.AWAITING_CONSENT

    page.context.clear_cookies()
    login(page, live_server, "schooladmin", PASSWORD)
    page.goto(f"{live_server.url}/school/consents/")
    expect(page.get_by_test_id("awaiting-consent")).to_contain_text("李明")
    screenshot("consents-phone")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.get_by_role("button", name="已收到纸质同意书").click()
    expect(page.locator(".messages")).to_contain_text("已确认")
    application.refresh_from_db()
    assert application.status == ApplicationStatus.CONFIRMED


def test_the_head_teacher_credits_held_minutes_on_a_phone(page, live_server, screenshot):
    from datetime import datetime, time, timedelta

    from django.utils import timezone

    from students.models import PracticeRecord, RecordedVia
    from students.services import RecordFacts, practice_record_upsert
    from tests.factories import HeadTeacherFactory, category, district

    page.set_viewport_size(PHONE)
    student = StudentFactory(name="王五")
    HeadTeacherFactory(user__username="headteacher", school_class=student.school_class)
    day = timezone.localdate() - timedelta(days=2)
    start = timezone.make_aware(datetime.combine(day, time(7, 0)))
    record, _ = practice_record_upsert(
        source_ref="platform:1",
        facts=RecordFacts(
            student=student,
            category=category(),
            title="社区志愿服务",
            organiser_name="其他平台",
            organiser_level="other",
            district=district(),
            started_at=start,
            ended_at=start + timedelta(hours=10),
            credited_minutes=600,
            recorded_via=RecordedVia.TRANSFER,
        ),
        recorded_by=None,
    )
    assert (record.credited_minutes, record.held_minutes) == (480, 120)

    login(page, live_server, "headteacher", PASSWORD)
    page.goto(f"{live_server.url}/held/")
    row = page.get_by_test_id("held-row")
    expect(row).to_contain_text("王五")
    expect(row).to_contain_text("120")
    screenshot("held-review-phone")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    row.locator("input[value=release]").check()
    row.locator("input[name=reason]").fill("全天活动属实")
    row.get_by_role("button").click()
    expect(page.get_by_test_id("no-held")).to_be_visible()
    record = PracticeRecord.objects.get(pk=record.pk)
    assert (record.credited_minutes, record.held_minutes) == (600, 0)
