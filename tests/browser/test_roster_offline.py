"""The roster on a coordinator's phone: offline check-ins wait in the browser and reach the
server with the times the buttons were pressed; a scanned code checks in and out; closing and
correcting."""

import json
import re
from datetime import datetime, timedelta

import pytest
from django.utils import timezone, translation
from django.utils.translation import gettext
from playwright.sync_api import expect

from bases.models import Attendance, AttendanceScan, Session
from tests.browser.conftest import login
from tests.factories import (
    PASSWORD,
    ApplicationFactory,
    CoordinatorFactory,
    SessionFactory,
    StudentFactory,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

PHONE = {"width": 360, "height": 740}
# The server answers the page's sync here; waiting for it keeps the test off a database that the
# live server is still writing (SQLite's shared in-memory database locks whole tables).
SYNC_URL = re.compile(r"/roster/sync/$")
# True once the phone's queue under `key` holds `count` actions and the phone's clock is more
# than `age` milliseconds past the last one's time.
QUEUED_AND_OLDER_THAN = """([key, count, age]) => {
  const queue = JSON.parse(localStorage.getItem(key) || "[]");
  return queue.length === count && Date.now() - Date.parse(queue[count - 1].time) > age;
}"""


def _zh(message: str, **values) -> str:
    """What the page shows by default (Chinese; the msgid until the catalogue has it)."""
    with translation.override("zh-hans"):
        return gettext(message) % values


def _running_session(students: int) -> Session:
    """A session that started an hour ago and ends in two hours, with confirmed students."""
    start = (timezone.localtime() - timedelta(hours=1)).replace(second=0, microsecond=0)
    session = SessionFactory(
        post__title="图书管理员",
        post__base__name="徐汇区图书馆",
        starts_at=start,
        ends_at=start + timedelta(hours=3),
        applications_open_at=start - timedelta(days=10),
        applications_close_at=start - timedelta(days=1),
        capacity=30,
        taken=students,
    )
    names = [
        "李明",
        "王芳",
        "张伟",
        "刘洋",
        "陈静",
        "杨帆",
        "赵磊",
        "黄丽",
        "周杰",
        "吴敏",
        "徐强",
        "孙悦",
    ]
    for n in range(students):
        ApplicationFactory(session=session, student=StudentFactory(name=names[n % len(names)]))
    CoordinatorFactory(user__username="coordinator", base=session.post.base)
    return session


def _move_scans_back(session, student, by: timedelta) -> None:
    """As if the student's scans so far had happened `by` earlier."""
    for scan in AttendanceScan.objects.filter(session=session, student=student):
        scan.happened_at -= by
        scan.save(update_fields=["happened_at"])
    attendance = Attendance.objects.get(session=session, student=student)
    attendance.checked_in_at -= by
    attendance.save(update_fields=["checked_in_at"])


def _open_roster(page, live_server, session) -> None:
    page.set_viewport_size(PHONE)
    login(page, live_server, "coordinator", PASSWORD)
    page.goto(f"{live_server.url}/manage/sessions/{session.pk}/roster/")
    expect(page.locator("#roster[data-ready]")).to_be_attached()


def test_ten_check_ins_made_offline_reach_the_server_with_their_press_times(
    page, live_server, screenshot
):
    session = _running_session(12)
    _open_roster(page, live_server, session)
    rows = page.get_by_test_id("roster-row")
    expect(rows).to_have_count(12)

    page.context.set_offline(True)
    expect(page.get_by_test_id("sync-state")).to_have_text(
        _zh("Offline: actions are kept on this phone")
    )
    queue_key = f"roster-queue:{session.pk}"
    pressed = []
    for n in range(10):
        before = timezone.now()
        rows.nth(n).get_by_test_id("check-in").click()
        expect(rows.nth(n).get_by_test_id("time-in")).not_to_have_text("—")
        pressed.append((before, timezone.now()))
        # Presses come apart, as by hand: the next one only once this one waits in the queue
        # and the phone's clock has moved past its time.
        page.wait_for_function(QUEUED_AND_OLDER_THAN, arg=[queue_key, n + 1, 0])
    expect(page.get_by_test_id("sync-count")).to_have_text(
        _zh("%(count)s waiting to sync", count=10)
    )
    expect(page.locator("[data-count=in]")).to_have_text("10")
    expect(rows.nth(0).locator(".time-in.pending")).to_be_attached()
    screenshot("roster-offline-10-waiting")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    queued = page.evaluate(f"JSON.parse(localStorage.getItem('roster-queue:{session.pk}'))")
    assert len(queued) == 10 and len({item["nonce"] for item in queued}) == 10
    assert not AttendanceScan.objects.exists()

    # The network stays away a while: until the last press is over two and a half seconds old
    # on the phone, with all ten still waiting there.
    page.wait_for_function(QUEUED_AND_OLDER_THAN, arg=[queue_key, 10, 2500], timeout=10000)
    back_online = timezone.now()
    page.context.set_offline(False)
    expect(page.get_by_test_id("sync-state")).to_have_text(_zh("All synced"), timeout=15000)
    expect(page.get_by_test_id("sync-count")).to_have_text("")
    # The times shown are now the server's, without a reload.
    expect(rows.nth(0).locator(".time-in.pending")).to_have_count(0)
    expect(rows.nth(10).get_by_test_id("time-in")).to_have_text("—")
    screenshot("roster-online-synced")

    scans = list(AttendanceScan.objects.order_by("happened_at"))
    assert len(scans) == 10
    assert {s.kind for s in scans} == {"in"}
    assert {s.nonce for s in scans} == {item["nonce"] for item in queued}
    for scan, item, (before, after) in zip(scans, queued, pressed, strict=True):
        assert scan.happened_at == datetime.fromisoformat(item["time"])
        # The press time, to the millisecond the browser saw, not the sync time.
        assert before - timedelta(milliseconds=5) <= scan.happened_at <= after
        assert scan.happened_at < back_online - timedelta(seconds=2)
        assert scan.received_at >= back_online
    for row in range(10):
        shown = timezone.localtime(scans[row].happened_at).strftime("%H:%M")
        assert rows.nth(row).get_by_test_id("time-in").text_content() in (
            shown,
            (timezone.localtime(scans[row].happened_at) - timedelta(minutes=1)).strftime("%H:%M"),
        )


def test_a_scanned_code_checks_in_then_out_and_the_session_closes_and_corrects(
    page, live_server, screenshot
):
    session = _running_session(4)
    students = [a.student for a in session.applications.select_related("student")]
    _open_roster(page, live_server, session)
    code = page.get_by_test_id("scan-input")

    def scan(text: str) -> None:
        code.fill(text)
        with page.expect_response(SYNC_URL):
            code.press("Enter")
        expect(page.get_by_test_id("sync-state")).to_have_text(_zh("All synced"))

    scan(students[0].personal_code.lower())
    # A second scan seconds later is a double scan: answered "already recorded", no check-out.
    scan(students[0].personal_code)
    expect(page.get_by_test_id("sync-errors")).to_contain_text(students[0].name)
    scan(students[1].student_number)  # matched by the server, not on the phone
    first = page.locator(f"#student-{students[0].pk}")
    expect(page.locator(f"#student-{students[1].pk}").get_by_test_id("time-in")).not_to_have_text(
        "—"
    )
    assert list(AttendanceScan.objects.order_by("id").values_list("student_id", "kind")) == [
        (students[0].pk, "in"),
        (students[1].pk, "in"),
    ]
    assert first.get_by_test_id("time-out").inner_text() == "—"

    # An hour later (moved back here rather than waited for), the same code checks out.
    _move_scans_back(session, students[0], timedelta(hours=1))
    page.reload()
    expect(page.locator("#roster[data-ready]")).to_be_attached()
    scan(students[0].personal_code)
    expect(first.get_by_test_id("time-out")).not_to_have_text("—")
    assert list(AttendanceScan.objects.order_by("id").values_list("student_id", "kind")) == [
        (students[0].pk, "in"),
        (students[1].pk, "in"),
        (students[0].pk, "out"),
    ]
    screenshot("roster-phone-scanning")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    # Closing is refused while student 1 is in without a check-out; the page names them.
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_test_id("close-attendance").click()
    expect(page.locator(".messages")).to_contain_text(students[1].name)
    # Five minutes after their check-in, checking student 1 out asks first (a short stay).
    _move_scans_back(session, students[1], timedelta(minutes=5))
    page.reload()
    expect(page.locator("#roster[data-ready]")).to_be_attached()
    questions = []

    def answer(dialog):
        questions.append(dialog.message)
        dialog.accept()

    page.once("dialog", answer)
    with page.expect_response(SYNC_URL):
        page.locator(f"#student-{students[1].pk}").get_by_test_id("check-out").click()
    assert students[1].name in questions[0]
    expect(page.get_by_test_id("sync-state")).to_have_text(_zh("All synced"))
    page.reload()
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_test_id("close-attendance").click()
    expect(page.get_by_test_id("closed-badge")).to_be_visible()

    row = page.locator(f"#student-{students[2].pk}")  # absent: corrected into the ledger
    row.get_by_test_id("correct").click()
    start = timezone.localtime(session.starts_at)
    prefix = f"#id_c{students[2].pk}"
    page.fill(f"{prefix}-checked_in_at", start.strftime("%Y-%m-%dT%H:%M"))
    page.fill(f"{prefix}-checked_out_at", (start + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"))
    page.fill(f"{prefix}-reason", "漏扫，带队老师证明在场")
    row.get_by_test_id("correct-form").locator("button[type=submit]").click()
    expect(page.get_by_test_id("corrections")).to_contain_text("漏扫，带队老师证明在场")
    expect(page.locator(f"#student-{students[2].pk}").get_by_test_id("minutes")).to_have_text("120")
    page.locator(f"#student-{students[0].pk}").get_by_test_id("correct").click()
    screenshot("roster-phone-closed")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_the_student_shows_their_code_on_a_phone(page, live_server, screenshot):
    student = StudentFactory(user__username="student", name="李明")
    page.set_viewport_size(PHONE)
    login(page, live_server, "student", PASSWORD)
    page.get_by_test_id("my-code-card").locator('a[href="/me/code/"]').click()
    expect(page.get_by_test_id("code-text")).to_have_text(student.personal_code)
    box = page.get_by_test_id("qr").locator("svg").bounding_box()
    assert box["width"] >= 200 and abs(box["width"] - box["height"]) < 2
    screenshot("my-code-phone")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_the_sync_payload_is_plain_json(page, live_server):
    """The page posts what docs describe: nonce, time with offset, student or code, kind."""
    session = _running_session(1)
    _open_roster(page, live_server, session)
    with page.expect_response(SYNC_URL) as response_info:
        page.get_by_test_id("check-in").click()
    response = response_info.value
    body = json.loads(response.request.post_data)
    [item] = body["items"]
    assert set(item) == {"nonce", "time", "student", "kind", "via"}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d", item["time"])
    assert response.request.headers["x-csrftoken"]
    assert response.json()["results"][0]["status"] == "created"
    expect(page.get_by_test_id("sync-state")).to_have_text(_zh("All synced"))


def test_a_coordinator_creates_and_revokes_an_api_token_on_a_phone(page, live_server, screenshot):
    coordinator = CoordinatorFactory(user__username="coordinator", base__name="徐汇区图书馆")
    page.set_viewport_size(PHONE)
    login(page, live_server, "coordinator", PASSWORD)
    page.goto(f"{live_server.url}/manage/bases/{coordinator.base_id}/api-tokens/")
    page.fill("#id_name", "前台签到机")
    page.get_by_test_id("token-form").locator("button[type=submit]").click()
    raw = page.get_by_test_id("raw-token").text_content()
    assert raw.startswith("bk_")
    screenshot("api-token-created-phone")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_test_id("revoke").click()
    expect(page.get_by_test_id("token-row")).to_contain_text("前台签到机")
    expect(page.get_by_test_id("revoke")).to_have_count(0)
    assert raw not in page.content()
