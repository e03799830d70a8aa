"""Stored messages are codes and parameters: whoever reads them later reads their own language.

For each kind of stored message shown to people (a base's attendance sheet problems, a school's
roster problems, an export batch's delivery and run errors, the audited decisions on a base), a
message written while one language was active is read in the other, both ways; rows kept by an
older version as finished text are shown as they are.
"""

from datetime import timedelta

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone, translation

from bases.models import AttendanceImport, BaseLevel, BaseStatus, ImportStatus
from bases.services.certification import base_certify
from evaluation_export.models import BatchStatus, ExportBatch
from portal.messages import message_text
from students.models import RosterImport
from tests.bases.test_attendance_import import _preview, _row, xlsx_file
from tests.evaluation_export.conftest import Ledger, run_batch
from tests.evaluation_export.test_delivery import deliver
from tests.factories import (
    BaseFactory,
    CoordinatorFactory,
    SchoolAdminFactory,
    SessionFactory,
    StudentFactory,
    UserFactory,
    district,
)
from tests.personas import owner_of
from tests.students.roster_helpers import roster_xlsx, student_row

pytestmark = pytest.mark.django_db

BOTH_WAYS = pytest.mark.parametrize(
    "written_in, read_in", [("zh-hans", "en"), ("en", "zh-hans")], ids=["zh-to-en", "en-to-zh"]
)


def page(client, user, url: str, language: str) -> str:
    client.force_login(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def expect(language: str, *, en: str, zh: str) -> tuple[str, str]:
    """The text a reader of `language` sees, and the one they must not."""
    return (en, zh) if language == "en" else (zh, en)


# ------------------------------------------------------------------------------
# A base's attendance sheet
# ------------------------------------------------------------------------------
@BOTH_WAYS
def test_an_attendance_sheets_problems_read_in_the_readers_language(client, written_in, read_in):
    start = (timezone.localtime() - timedelta(hours=6)).replace(second=0, microsecond=0)
    session = SessionFactory(starts_at=start, ends_at=start + timedelta(hours=3))
    coordinator = CoordinatorFactory(base=session.post.base).user
    stranger = StudentFactory.build(student_number="G99999999")  # no such student
    with translation.override(written_in):
        item = _preview(session, coordinator, xlsx_file([_row(stranger, session)]))
    assert item.status == ImportStatus.REFUSED
    html = page(
        client, coordinator, reverse("bases:attendance-import-detail", args=[item.pk]), read_in
    )
    shown, hidden = expect(
        read_in,
        en="No student has the student number G99999999.",
        zh="没有学籍号为G99999999的学生。",
    )
    assert shown in html and hidden not in html


def test_an_attendance_sheet_kept_as_finished_text_is_shown_as_it_was(client):
    start = (timezone.localtime() - timedelta(hours=6)).replace(second=0, microsecond=0)
    session = SessionFactory(starts_at=start, ends_at=start + timedelta(hours=3))
    coordinator = CoordinatorFactory(base=session.post.base).user
    item = _preview(session, coordinator, xlsx_file([_row(StudentFactory(), session)]))
    old = {"row": 2, "column": "student_number", "code": "x", "value": "", "message": "旧的说明"}
    AttendanceImport.objects.filter(pk=item.pk).update(errors=[old], status=ImportStatus.REFUSED)
    html = page(
        client, coordinator, reverse("bases:attendance-import-detail", args=[item.pk]), "en"
    )
    assert "旧的说明" in html


# ------------------------------------------------------------------------------
# A school's roster sheet
# ------------------------------------------------------------------------------
@BOTH_WAYS
def test_a_rosters_problems_read_in_the_readers_language(client, written_in, read_in):
    assignment = SchoolAdminFactory()
    school = assignment.school
    client.force_login(assignment.user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = written_in
    content = roster_xlsx([student_row("G20250001", "")])
    client.post(
        reverse("students:roster", args=[school.pk]),
        {"file": SimpleUploadedFile("r.xlsx", content)},
    )
    item = RosterImport.objects.latest("id")
    url = reverse("students:roster-import", args=[school.pk, item.pk])
    html = page(client, assignment.user, url, read_in)
    shown, hidden = expect(read_in, en="The name is empty.", zh="姓名为空。")
    assert shown in html and hidden not in html
    assert 'data-column="name"' in html


# ------------------------------------------------------------------------------
# The export: why a delivery or a run failed
# ------------------------------------------------------------------------------
@BOTH_WAYS
def test_an_export_batchs_delivery_error_reads_in_the_readers_language(
    client, settings, written_in, read_in
):
    Ledger().record()
    settings.EVALUATION_EXPORT_ENDPOINT = "http://evaluation.example.org/upload"
    with translation.override(written_in):
        batch = deliver(run_batch().pk)
    assert batch.delivery_error
    city_admin = UserFactory(role="city_admin")
    url = reverse("evaluation_export:batch-detail", args=[batch.pk])
    html = page(client, city_admin, url, read_in)
    shown, hidden = expect(
        read_in,
        en="The endpoint must use HTTPS: http://evaluation.example.org/upload",
        zh="接收地址必须使用 HTTPS：http://evaluation.example.org/upload",
    )
    assert shown in html and hidden not in html


def test_a_failed_runs_error_and_an_old_text_error_read_in_the_readers_language(client):
    Ledger().record()
    batch = run_batch()
    city_admin = UserFactory(role="city_admin")
    url = reverse("evaluation_export:batch-detail", args=[batch.pk])
    from evaluation_export.messages import RUN_FAILED

    with translation.override("zh-hans"):
        stored = RUN_FAILED(error="OSError: [Errno 28] No space left on device").encode()
    ExportBatch.objects.filter(pk=batch.pk).update(status=BatchStatus.FAILED, error=stored)
    html = page(client, city_admin, url, "en")
    assert "The run stopped with an error: OSError: [Errno 28] No space left on device" in html
    html = page(client, city_admin, url, "zh-hans")
    assert "运行因错误而停止：OSError: [Errno 28] No space left on device" in html
    ExportBatch.objects.filter(pk=batch.pk).update(error="磁盘已满")  # kept by an older version
    assert "磁盘已满" in page(client, city_admin, url, "en")


def test_a_stored_message_quoting_another_renders_both_in_the_readers_language():
    from evaluation_export.messages import ACK_FILE_REFUSED, ACK_OTHER_SHA

    stored = ACK_FILE_REFUSED(error=ACK_OTHER_SHA()).encode()
    with translation.override("en"):
        assert message_text(stored) == (
            "Acknowledgement file refused: The acknowledgement is for another file "
            "(SHA-256 differs)."
        )
    with translation.override("zh-hans"):
        text = message_text(stored)
    assert "SHA-256" in text and "Acknowledgement" not in text


# ------------------------------------------------------------------------------
# Audited decisions shown to people: labelled from the action's code; the reason as typed
# ------------------------------------------------------------------------------
@BOTH_WAYS
def test_an_audited_decision_reads_in_the_readers_language_with_the_reason_as_typed(
    client, written_in, read_in
):
    base = BaseFactory(
        district=district("310104"), level=BaseLevel.DISTRICT, status=BaseStatus.PENDING
    )
    admin = owner_of(district("310104"))
    with translation.override(written_in):
        base_certify(
            base=base,
            certified_by=admin,
            valid_until=timezone.localdate() + timedelta(days=365),
            reason="场地与安全检查合格",
        )
    html = page(client, admin, reverse("bases:base-decide", args=[base.pk]), read_in)
    decisions = html.split('data-testid="decisions"')[1].split("</table>")[0]
    shown, hidden = expect(read_in, en="Certified or renewed", zh="认证或续期")
    assert shown in decisions and hidden not in decisions
    assert "场地与安全检查合格" in decisions


def test_a_scan_refused_at_confirmation_is_kept_as_a_message():
    """A sheet row the scan path refuses at confirmation (a change since the preview)."""
    from bases.attendance_rules import Problem
    from bases.services.attendance.common import rule_error
    from bases.services.attendance.scans import BatchResult

    result = BatchResult(errors=[])
    with translation.override("zh-hans"):
        result.refused(0, rule_error(Problem.NOT_CONFIRMED, name="李明"))
    with translation.override("en"):
        assert str(result.kept[0]) == "李明 is not confirmed for this session."
    assert result.kept[0].as_json()["message_code"] == "attendance_scan.not_confirmed"
