"""The roster asks before a check-out right after the check-in, and an unknown code gets one
clear message."""

import pytest
from django.utils import translation
from django.utils.translation import gettext
from playwright.sync_api import expect

from bases.models import AttendanceScan
from tests.browser.test_roster_offline import SYNC_URL, _open_roster, _running_session, _zh

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def _kinds():
    return list(AttendanceScan.objects.order_by("id").values_list("kind", flat=True))


def test_a_check_out_right_after_the_check_in_asks_and_no_keeps_the_student_in(page, live_server):
    session = _running_session(1)
    _open_roster(page, live_server, session)
    row = page.get_by_test_id("roster-row").first
    with page.expect_response(SYNC_URL):
        row.get_by_test_id("check-in").click()
    expect(page.get_by_test_id("sync-state")).to_have_text(_zh("All synced"))

    questions = []

    def dismiss(dialog):
        questions.append(dialog.message)
        dialog.dismiss()

    page.once("dialog", dismiss)
    row.get_by_test_id("check-out").click()
    expect(row.get_by_test_id("time-out")).to_have_text("—")
    [question] = questions
    assert "李明" in question and row.get_by_test_id("time-in").text_content() in question
    assert _kinds() == ["in"]

    page.once("dialog", lambda dialog: dialog.accept())
    with page.expect_response(SYNC_URL):
        row.get_by_test_id("check-out").click()
    expect(row.get_by_test_id("time-out")).not_to_have_text("—")
    assert _kinds() == ["in", "out"]


def test_a_scanned_code_twice_asks_before_checking_out(page, live_server):
    session = _running_session(1)
    student = session.applications.get().student
    _open_roster(page, live_server, session)
    code = page.get_by_test_id("scan-input")
    code.fill(student.personal_code)
    with page.expect_response(SYNC_URL):
        code.press("Enter")
    expect(page.get_by_test_id("sync-state")).to_have_text(_zh("All synced"))
    page.once("dialog", lambda dialog: dialog.dismiss())
    code.fill(student.personal_code)
    code.press("Enter")
    expect(page.get_by_test_id("roster-flash")).to_have_text(
        _zh("Not checked out: %(name)s is still checked in.", name=student.name)
    )
    assert _kinds() == ["in"]


def test_an_unknown_code_shows_one_clear_message(page, live_server):
    session = _running_session(1)
    _open_roster(page, live_server, session)
    code = page.get_by_test_id("scan-input")
    code.fill("ZZZZ9999")
    with page.expect_response(SYNC_URL):
        code.press("Enter")
    expect(page.get_by_test_id("sync-state")).to_have_text(_zh("All synced"))
    unknown = _zh("No student on this roster has the code %(code)s.", code="ZZZZ9999")
    with translation.override("zh-hans"):
        one_message = gettext("Not recorded: %(message)s") % {"message": unknown}
    expect(page.get_by_test_id("roster-flash")).to_have_text(one_message)
    expect(page.get_by_test_id("sync-errors")).to_be_hidden()
    assert page.get_by_text(unknown).count() == 1
    assert not AttendanceScan.objects.exists()
