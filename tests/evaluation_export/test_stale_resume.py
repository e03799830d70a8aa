"""A batch whose worker died is resumed by the beat task alone; its page says so meanwhile."""

import importlib
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from evaluation_export import tasks
from evaluation_export.models import BatchKind, BatchStatus, ExportBatch
from evaluation_export.services import export_batch_create
from portal.celery import app
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

schedule_migration = importlib.import_module(
    "evaluation_export.migrations.0004_stale_resume_schedule"
)


@pytest.fixture
def city_client(client, ledger):
    client.login(username=ledger.city_admin.username, password=PASSWORD)
    return client


def _dead_run(batch: ExportBatch, *, silent_for: timedelta) -> None:
    ExportBatch.objects.filter(pk=batch.pk).update(
        status=BatchStatus.RUNNING,
        run_token="dead",
        heartbeat_at=timezone.now() - silent_for,
        rows_done=1,
        row_count=3,
    )


def test_the_resume_runs_every_minute_from_django_celery_beat():
    task = PeriodicTask.objects.select_related("interval").get(name=schedule_migration.RESUME)
    assert task.enabled
    assert task.task == "evaluation_export.tasks.export_stale_resume"
    app.loader.import_default_modules()
    assert task.task in app.tasks
    assert (task.interval.every, task.interval.period) == (1, "minutes")


def test_a_silent_batch_is_finished_and_queued_for_delivery_by_the_beat_task(
    ledger, settings, monkeypatch
):
    settings.EVALUATION_EXPORT_STALE_SECONDS = 60
    records = [ledger.record() for _ in range(3)]
    batch, _ = export_batch_create(kind=BatchKind.DELTA, period="2026-W48")
    _dead_run(batch, silent_for=timedelta(minutes=5))
    delivered = []
    monkeypatch.setattr(tasks.export_batch_deliver, "delay", lambda **kw: delivered.append(kw))

    assert tasks.export_stale_resume.run() == [batch.pk]

    batch.refresh_from_db()
    assert batch.status == BatchStatus.DONE
    assert sorted(batch.lines.values_list("record_id", flat=True)) == sorted(r.pk for r in records)
    assert delivered == [{"batch_id": batch.pk}]
    assert tasks.export_stale_resume.run() == [], "a done batch is not run again"
    assert batch.lines.count() == 3


def test_a_batch_with_a_recent_heartbeat_is_left_to_its_runner(ledger, settings):
    settings.EVALUATION_EXPORT_STALE_SECONDS = 60
    ledger.record()
    batch, _ = export_batch_create(kind=BatchKind.DELTA, period="2026-W48")
    _dead_run(batch, silent_for=timedelta(seconds=5))
    assert tasks.export_stale_resume.run() == []
    batch.refresh_from_db()
    assert (batch.status, batch.run_token) == (BatchStatus.RUNNING, "dead")


@pytest.mark.parametrize(
    ("language", "words"),
    [("zh-hans", "后台任务进程已停止"), ("en", "The worker running this batch stopped")],
)
def test_the_page_says_the_worker_stopped_and_the_batch_is_resuming(
    city_client, ledger, settings, language, words
):
    settings.EVALUATION_EXPORT_STALE_SECONDS = 60
    batch, _ = export_batch_create(kind=BatchKind.DELTA, period="2026-W48")
    city_client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    _dead_run(batch, silent_for=timedelta(seconds=5))
    page = city_client.get(reverse("evaluation_export:batch-detail", args=[batch.pk])).text
    assert 'data-testid="batch-stale" data-role="stale" hidden' in page, "a live run: no note"
    assert not city_client.get(reverse("evaluation_export:batch-status", args=[batch.pk])).json()[
        "stale"
    ]

    _dead_run(batch, silent_for=timedelta(minutes=5))
    page = city_client.get(reverse("evaluation_export:batch-detail", args=[batch.pk])).text
    assert 'data-testid="batch-stale" data-role="stale">' in page
    assert words in page
    data = city_client.get(reverse("evaluation_export:batch-status", args=[batch.pk])).json()
    assert data["stale"] is True
    assert ("正在自动续跑" if language == "zh-hans" else "resuming") in data["label"]
