"""Large exports of other platforms: confirmed by the worker (queued through the outbox) while
the page shows how far it is, all or nothing, a stale run queued again, and a bounded number of
queries however many rows."""

from datetime import datetime, timedelta

import pytest
from celery.contrib.testing.worker import start_worker
from django.utils import timezone

from portal.celery import app
from portal.models import AuditLog
from students import services as ledger
from students import tasks
from students.models import (
    OrganiserLevel,
    PlatformImport,
    PlatformImportStatus,
    PlatformRecord,
    PlatformRecordStatus,
    PracticeRecord,
    PracticeRecordVersion,
    RecordedVia,
)
from students.platforms import services
from students.platforms.services import platform_import_confirm
from students.services import RecordFacts, practice_record_upsert
from students.views import platforms as platform_views
from tests.factories import category
from tests.outbox import sent_kwargs
from tests.waiting import wait_until

from . import test_platform_import as base

# The school, its admin and twenty students of test_platform_import (shared fixtures).
admin, admin_client, client, school, students = (
    base.admin, base.admin_client, base.client, base.school, base.students
)  # fmt: skip
SHVOL_HEADER, confirm, preview, shvol_rows, xlsx = (
    base.SHVOL_HEADER, base.confirm, base.preview, base.shvol_rows, base.xlsx
)  # fmt: skip

pytestmark = pytest.mark.django_db


def _queued(admin_client, school, students, monkeypatch, capture, count=40) -> PlatformImport:
    monkeypatch.setattr(services, "BACKGROUND_ROWS", 5)
    monkeypatch.setattr(platform_views, "BACKGROUND_ROWS", 5)
    item = preview(admin_client, xlsx(SHVOL_HEADER, shvol_rows(students, count)), school=school)
    with capture(execute=True):
        response = confirm(admin_client, item)
    assert response.status_code == 302
    item.refresh_from_db()
    return item


def test_a_large_export_is_imported_by_the_worker_while_the_page_shows_how_far_it_is(
    admin_client, admin, school, students, monkeypatch, django_capture_on_commit_callbacks
):
    item = _queued(admin_client, school, students, monkeypatch, django_capture_on_commit_callbacks)
    assert item.status == PlatformImportStatus.IMPORTING
    assert not PracticeRecord.objects.exists()
    page = admin_client.get(item.get_absolute_url()).content.decode()
    assert 'data-testid="importing"' in page and 'http-equiv="refresh"' in page
    assert 'data-testid="confirm-form"' not in page  # confirming again is not offered

    # The worker's progress as the page reads it: how many rows of how many.
    services._progress_set(item, "writing", 16)
    page = admin_client.get(item.get_absolute_url()).content.decode()
    assert "16 of 40 rows saved" in page
    admin_client.cookies["django_language"] = "zh-hans"
    assert "已保存 40 行中的 16 行" in admin_client.get(item.get_absolute_url()).content.decode()
    admin_client.cookies["django_language"] = "en"

    # What the worker runs: the queued task; a redelivery imports nothing more.
    queued = sent_kwargs(tasks.platform_import_confirm)
    assert queued == [{"import_id": item.pk, "user_id": admin.user.pk}]
    tasks.platform_import_confirm.run(**queued[0])
    tasks.platform_import_confirm.run(**queued[0])
    item.refresh_from_db()
    assert item.status == PlatformImportStatus.IMPORTED
    assert item.summary["credited"] == 40
    assert PracticeRecord.objects.filter(recorded_via=RecordedVia.PLATFORM).count() == 40
    assert PlatformRecord.objects.count() == 40
    page = admin_client.get(item.get_absolute_url()).content.decode()
    assert 'data-testid="importing"' not in page and 'http-equiv="refresh"' not in page
    assert '<dd data-testid="credited">40</dd>' in page


def test_a_failure_mid_way_writes_nothing_and_says_why(
    admin_client, school, students, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(ledger, "BULK_CHUNK", 10)  # rounds of 10: the failure is in the third
    item = _queued(admin_client, school, students, monkeypatch, django_capture_on_commit_callbacks)
    # Meanwhile another source took the ledger key of row 26 with other facts.
    started = timezone.now() - timedelta(days=400)
    practice_record_upsert(
        source_ref="platform:shvol:SH-00025",
        facts=RecordFacts(
            student=students[0],
            category=category(),
            title="另一条记录",
            organiser_name="某单位",
            organiser_level=OrganiserLevel.OTHER,
            district=None,
            started_at=started,
            ended_at=started + timedelta(hours=1),
            credited_minutes=60,
            recorded_via=RecordedVia.SCHOOL,
        ),
        recorded_by=None,
    )
    audits = AuditLog.objects.filter(action="record.create").count()
    tasks.platform_import_confirm.run(**sent_kwargs(tasks.platform_import_confirm)[0])
    item.refresh_from_db()
    assert item.status == PlatformImportStatus.REFUSED
    assert [e["code"] for e in item.errors] == ["failed"]
    assert PracticeRecord.objects.count() == 1  # only the other source's record
    assert PracticeRecordVersion.objects.count() == 1
    assert not PlatformRecord.objects.exists()
    assert AuditLog.objects.filter(action="record.create").count() == audits
    page = admin_client.get(item.get_absolute_url()).content.decode()
    assert "Nothing was imported: writing the records stopped on an error" in page
    assert "source_ref_conflict" in page and 'data-testid="importing"' not in page


def test_a_confirmation_whose_worker_died_is_queued_again_and_imports_once(
    admin_client, admin, school, students, monkeypatch, settings,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    settings.PLATFORM_IMPORT_STALE_SECONDS = 60
    item = _queued(admin_client, school, students, monkeypatch, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.platform_imports_requeue_stale.run() == [], "still within the limit"
    PlatformImport.objects.filter(pk=item.pk).update(
        queued_at=timezone.now() - timedelta(minutes=5)
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.platform_imports_requeue_stale.run() == [item.pk]
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.platform_imports_requeue_stale.run() == [], "queued once per stale limit"
    queued = sent_kwargs(tasks.platform_import_confirm)
    assert queued == [{"import_id": item.pk, "user_id": admin.user.pk}] * 2
    tasks.platform_import_confirm.run(**queued[1])
    tasks.platform_import_confirm.run(**queued[0])  # the first message, redelivered late
    item.refresh_from_db()
    assert item.status == PlatformImportStatus.IMPORTED
    assert PlatformRecord.objects.count() == 40
    assert AuditLog.objects.filter(action="platform_import.requeue").count() == 1


@pytest.mark.long
def test_2000_rows_import_with_a_bounded_number_of_queries(
    admin_client, school, students, django_assert_max_num_queries, monkeypatch
):
    monkeypatch.setattr(services, "BACKGROUND_BYTES", 10_000_000)  # previewed in the request
    rows = shvol_rows(students, 2000)
    overlapped = rows[7::100]  # 20 rows overlapping a record the student has
    for row in overlapped:
        student = next(s for s in students if s.student_number == row[2])
        base.roster_record(student, datetime.fromisoformat(f"{row[6]} 10:00"))
    item = preview(admin_client, xlsx(SHVOL_HEADER, rows), school=school)
    assert item.summary == {"new": 1980, "already": 0, "overlap": 20}
    # SQLite takes 999 values a statement (about 45 records); PostgreSQL a round at once.
    with django_assert_max_num_queries(260):
        platform_import_confirm(upload=item, confirmed_by=item.uploaded_by)
    item.refresh_from_db()
    assert (item.summary["credited"], item.summary["overlap"]) == (1980, 20)
    assert PracticeRecord.objects.filter(recorded_via=RecordedVia.PLATFORM).count() == 1980
    assert PlatformRecord.objects.filter(status=PlatformRecordStatus.OVERLAP).count() == 20
    platform = PracticeRecord.objects.filter(recorded_via=RecordedVia.PLATFORM)
    assert PracticeRecordVersion.objects.filter(record__in=platform).count() == 1980
    entries = AuditLog.objects.filter(action="record.create", data__source_ref__startswith="plat")
    assert entries.count() == 1980
    # The same file again changes nothing.
    again = preview(admin_client, xlsx(SHVOL_HEADER, rows), school=school)
    assert again.summary == {"new": 0, "already": 2000, "overlap": 0}


@pytest.mark.worker
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_real_worker_imports_a_large_export(admin_client, admin, school, students, monkeypatch):
    monkeypatch.setattr(services, "BACKGROUND_ROWS", 5)
    monkeypatch.setattr(platform_views, "BACKGROUND_ROWS", 5)
    item = preview(admin_client, xlsx(SHVOL_HEADER, shvol_rows(students, 60)), school=school)
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=20):
        confirm(admin_client, item)  # queued through the outbox when the request commits
        assert wait_until(
            lambda: PlatformImport.objects.filter(
                pk=item.pk, status=PlatformImportStatus.IMPORTED
            ).exists(),
            timeout=30,
        ), f"the worker did not import it on {app.conf.broker_url}"
    assert PracticeRecord.objects.filter(recorded_via=RecordedVia.PLATFORM).count() == 60
    page = admin_client.get(item.get_absolute_url()).content.decode()
    assert '<dd data-testid="credited">60</dd>' in page


def test_a_large_file_is_checked_by_the_worker_while_the_page_says_so(
    admin_client, school, students, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(services, "BACKGROUND_BYTES", 1000)
    content = xlsx(SHVOL_HEADER, shvol_rows(students, 60))
    with django_capture_on_commit_callbacks(execute=True):
        item = preview(admin_client, content, school=school)
    assert item.status == PlatformImportStatus.CHECKING
    page = admin_client.get(item.get_absolute_url()).content.decode()
    assert 'data-testid="checking"' in page and 'http-equiv="refresh"' in page
    assert 'data-testid="confirm-form"' not in page
    queued = sent_kwargs(tasks.platform_import_check)
    assert queued == [{"import_id": item.pk}]
    tasks.platform_import_check.run(**queued[0])
    tasks.platform_import_check.run(**queued[0])  # a redelivery checks nothing more
    item.refresh_from_db()
    assert item.status == PlatformImportStatus.PREVIEWED
    assert item.summary == {"new": 60, "already": 0, "overlap": 0} and item.row_count == 60
    assert AuditLog.objects.filter(action="platform_import.preview").count() == 1
    page = admin_client.get(item.get_absolute_url()).content.decode()
    assert 'data-testid="checking"' not in page and 'data-testid="confirm-form"' in page
    assert not PracticeRecord.objects.exists()
