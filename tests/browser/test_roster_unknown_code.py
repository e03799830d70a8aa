"""An unknown code on the roster gets one clear message, not a note and then an error."""

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
