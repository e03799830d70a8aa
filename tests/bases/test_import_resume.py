"""A confirmation whose worker died is queued again by the beat task and imports once."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from bases import tasks
from bases.models import AttendanceScan, ImportStatus
from portal.models import AuditLog
from tests.outbox import sent_kwargs

from . import test_attendance_import as sheets

# The session that ran this morning, with its coordinator and students (a shared fixture).
ran = sheets.ran
_preview, _row, xlsx_file = sheets._preview, sheets._row, sheets.xlsx_file

pytestmark = pytest.mark.django_db


def _queued_import(client, session, coordinator, students, monkeypatch, capture):
    from bases.attendance_import import services

    monkeypatch.setattr(services, "BACKGROUND_ROWS", 2)
    monkeypatch.setattr("bases.views.attendance_import.BACKGROUND_ROWS", 2)
    client.force_login(coordinator)
    item = _preview(session, coordinator, xlsx_file([_row(s, session) for s in students]))
    with capture(execute=True):
        client.post(reverse("bases:attendance-import-confirm", args=[item.pk]))
    return item


def test_an_import_left_importing_by_a_dead_worker_is_queued_again_and_imports_once(
    client, ran, monkeypatch, settings, django_capture_on_commit_callbacks
):
    settings.ATTENDANCE_IMPORT_STALE_SECONDS = 60
    session, coordinator, students = ran
    item = _queued_import(
        client, session, coordinator, students, monkeypatch, django_capture_on_commit_callbacks
    )
    assert sent_kwargs(tasks.attendance_import_confirm) == [
        {"import_id": item.pk, "user_id": coordinator.pk}
    ]

    # The worker that took the message was killed: nothing imported, the message is gone.
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.attendance_imports_requeue_stale.run() == [], "still within the limit"
    AuditLog.objects.filter(action="attendance_import.queue").update(
        created_at=timezone.now() - timedelta(minutes=5)
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.attendance_imports_requeue_stale.run() == [item.pk]
    queued = sent_kwargs(tasks.attendance_import_confirm)
    assert queued[1:] == [{"import_id": item.pk, "user_id": coordinator.pk}]
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.attendance_imports_requeue_stale.run() == [], "queued once per stale limit"

    tasks.attendance_import_confirm.run(**queued[1])
    tasks.attendance_import_confirm.run(**queued[0])  # the first message, redelivered late
    item.refresh_from_db()
    assert item.status == ImportStatus.IMPORTED
    assert AttendanceScan.objects.count() == 6
    page = client.get(reverse("bases:attendance-import-detail", args=[item.pk])).content.decode()
    assert 'data-testid="importing"' not in page
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.attendance_imports_requeue_stale.run() == []
