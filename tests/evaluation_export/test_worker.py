"""Real Celery workers: a batch started by hand runs and is delivered; a worker killed mid-batch
leaves nothing done, and the next run completes the batch exactly once.
"""

import os
import signal
import subprocess
import sys
import time
import uuid
from contextlib import suppress
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from django.db import OperationalError, connection, transaction
from django.utils import timezone

from evaluation_export import tasks
from evaluation_export.models import BatchKind, BatchStatus, ExportBatch, ExportedLine
from evaluation_export.services import export_batch_create, export_batch_start
from portal.celery import app
from students.models import OrganiserLevel, PracticeRecord, RecordedVia, RecordStatus
from tests.factories import StudentFactory, UserFactory, category, district
from tests.waiting import wait_until

from .conftest import FIRST_START, read_rows, run_batch
from .test_delivery import Receiver, _accept_all

ON_REDIS = settings.CELERY_BROKER_URL.startswith("redis://")
ROWS = 300
PAUSE_AFTER = 120


def _final_records(count: int) -> list[PracticeRecord]:
    """Final records made in bulk, one hour apart, for a few students."""
    students = [StudentFactory() for _ in range(5)]
    volunteer, xuhui, now = category(), district(), timezone.now()
    records = []
    for index in range(count):
        started_at = FIRST_START + timedelta(hours=index * 4)
        records.append(
            PracticeRecord(
                student=students[index % len(students)],
                source_ref=f"crash-test:{index}",
                category=volunteer,
                title="医院分诊引导",
                organiser_name="上海市第六人民医院",
                organiser_level=OrganiserLevel.CITY,
                district=xuhui,
                started_at=started_at,
                ended_at=started_at + timedelta(hours=3),
                credited_minutes=180,
                recorded_via=RecordedVia.SCAN,
                status=RecordStatus.FINAL,
                notice_ends_on=(started_at + timedelta(days=8)).date(),
                confirmed_at=now,
            )
        )
    return PracticeRecord.objects.bulk_create(records)


@pytest.mark.worker
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_batch_started_by_hand_is_run_and_delivered_by_a_real_worker():
    records = _final_records(5)
    city_admin = UserFactory(role="city_admin")
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=20):
        with transaction.atomic():
            batch, created = export_batch_start(
                kind=BatchKind.DELTA, fmt="xlsx", requested_by=city_admin
            )
        assert created
        assert wait_until(
            lambda: ExportBatch.objects.filter(pk=batch.pk, delivered_at__isnull=False).exists(),
            timeout=30,
        ), f"the worker did not run and deliver the batch on {app.conf.broker_url}"
    batch.refresh_from_db()
    assert batch.status == BatchStatus.DONE
    assert set(batch.lines.values_list("record_id", flat=True)) == {r.pk for r in records}
    delivered = Path(settings.EVALUATION_EXPORT_DIR) / Path(batch.file.name).name
    assert delivered.read_bytes() == Path(batch.file.path).read_bytes()


@pytest.mark.worker
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_transient_delivery_failure_is_retried_by_a_real_worker_after_its_wait(
    monkeypatch, settings
):
    """The worker, not a sleeping loop, waits out the back-off between delivery attempts."""
    _final_records(2)
    batch = run_batch()
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.setattr(tasks.export_batch_deliver, "max_retries", 2)
    with (
        Receiver([(503, "busy"), (200, _accept_all)]) as receiver,
        start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=20),
    ):
        settings.EVALUATION_EXPORT_ENDPOINT = receiver.url
        started = time.monotonic()
        tasks.export_batch_deliver.delay(batch_id=batch.pk)

        def delivered() -> bool:
            try:
                return ExportBatch.objects.filter(pk=batch.pk, delivered_at__isnull=False).exists()
            except OperationalError:
                # SQLite's shared in-memory test database: the worker's thread is writing the
                # table this very moment ("database table is locked"); look again.
                return False

        assert wait_until(delivered, timeout=60), (
            f"the worker did not deliver the batch on {app.conf.broker_url}"
        )
        waited = time.monotonic() - started
    batch.refresh_from_db()
    assert len(receiver.requests) == 2
    assert batch.delivery_attempts == 2
    assert batch.delivery_error == ""
    assert waited >= settings.EVALUATION_EXPORT_RETRY_BACKOFF, "the retry waited its back-off"


def _forget_unacked_messages(queue: str) -> None:
    """Drop the killed worker's unacknowledged message from Redis (kombu's `unacked` hash).

    Redis would put it back on this run's queue after the visibility timeout (an hour), where
    no worker will ever read it; only this queue's entries are touched.
    """
    import json

    import redis

    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    for tag, payload in client.hgetall("unacked").items():
        with suppress(ValueError, IndexError, TypeError):
            if json.loads(payload)[2] == queue:
                client.hdel("unacked", tag)
                client.zrem("unacked_index", tag)
    client.delete(queue)


class Worker:
    """`celery -A portal worker` in its own process group, on this test's queue and database."""

    def __init__(self, *, log: Path, pause_after: int | None = None, env: dict | None = None):
        db = connection.settings_dict
        credentials = quote(db["USER"] or "", safe="")
        if db.get("PASSWORD"):
            credentials += ":" + quote(db["PASSWORD"], safe="")
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "portal.settings.local",
            "DATABASE_URL": f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:"
            f"{db['PORT'] or 5432}/{db['NAME']}",
            "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
            # The same files as this test process, so it can read what the worker wrote.
            "MEDIA_ROOT": str(settings.MEDIA_ROOT),
            "EVALUATION_EXPORT_DIR": str(settings.EVALUATION_EXPORT_DIR),
            "PORTAL_TMP_DIR": str(settings.PORTAL_TMP_DIR),
            # Tasks the worker queues itself (a delivery after a resume) go to this run's queue.
            "CELERY_QUEUE": settings.CELERY_TASK_DEFAULT_QUEUE,
            "PYTHONUNBUFFERED": "1",
            **(env or {}),
        }
        command = [sys.executable, "-m", "celery", "-A", "portal", "worker", "--pool=solo"]
        command += ["-Q", settings.CELERY_TASK_DEFAULT_QUEUE, "-n", f"export-{uuid.uuid4().hex}@%h"]
        command += ["--without-mingle", "--without-gossip", "--without-heartbeat", "-l", "info"]
        if pause_after is not None:
            # The pause lives in a test module the worker imports (-I) after its task modules.
            env["EXPORT_TEST_PAUSE_AFTER_ROWS"] = str(pause_after)
            env["EXPORT_TEST_PAUSE_SECONDS"] = "120"
            command += ["-I", "tests.evaluation_export.worker_pause"]
        self.log = log
        with open(log, "wb") as output:  # the child keeps its own copy of the descriptor
            self.process = subprocess.Popen(
                command,
                cwd=settings.BASE_DIR,
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def kill(self) -> None:
        """SIGKILL the whole worker: no handler, no cleanup, no goodbye to the database."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]


@pytest.mark.postgres
@pytest.mark.worker
@pytest.mark.skipif(not ON_REDIS, reason="needs Redis: set CELERY_BROKER_URL=redis://...")
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_worker_killed_mid_batch_leaves_nothing_done_and_the_next_run_completes_it_once(
    tmp_path,
):
    records = _final_records(ROWS)
    expected = {(record.pk, 1, "new") for record in records}
    batch, _ = export_batch_create(kind=BatchKind.DELTA, fmt="csv", period="2026-W48")

    first = Worker(log=tmp_path / "worker-1.log", pause_after=PAUSE_AFTER)
    try:
        tasks.export_batch_run.delay(batch_id=batch.pk)
        inside = wait_until(
            lambda: ExportBatch.objects.filter(
                pk=batch.pk, status=BatchStatus.RUNNING, rows_done__gte=PAUSE_AFTER
            ).exists(),
            timeout=60,
        )
        assert inside, f"the worker never got inside the batch:\n{first.output()}"
    finally:
        first.kill()

    batch.refresh_from_db()
    assert batch.status == BatchStatus.RUNNING, "a killed run cannot mark its batch"
    assert (batch.rows_done, batch.row_count) == (PAUSE_AFTER, ROWS)
    assert not ExportedLine.objects.exists(), "no line is exported before the batch is done"
    assert not ExportBatch.objects.filter(status=BatchStatus.DONE).exists()
    final_path = Path(settings.MEDIA_ROOT) / "exports" / "evaluation-export-2026-W48-delta.csv"
    assert not final_path.exists()
    assert len(list(final_path.parent.glob(".*.part"))) == 1, "the dead run's half-written file"

    second = Worker(log=tmp_path / "worker-2.log")
    try:
        tasks.export_batch_run.delay(batch_id=batch.pk)
        done = wait_until(
            lambda: ExportBatch.objects.filter(pk=batch.pk, status=BatchStatus.DONE).exists(),
            timeout=60,
        )
        assert done, f"the second worker did not complete the batch:\n{second.output()}"
    finally:
        second.stop()
        _forget_unacked_messages(settings.CELERY_TASK_DEFAULT_QUEUE)

    assert ExportBatch.objects.count() == 1
    (batch,) = ExportBatch.objects.filter(status=BatchStatus.DONE)
    assert set(batch.lines.values_list("record_id", "version", "operation")) == expected
    assert ExportedLine.objects.count() == ROWS
    rows = read_rows(batch.file.path)
    assert len(rows) == ROWS
    assert {(int(r["record_id"]), int(r["version"]), r["operation"]) for r in rows} == expected
    assert (batch.rows_done, batch.row_count) == (ROWS, ROWS)
    assert not list(final_path.parent.glob(".*.part")), "the takeover removed the dead run's file"
    assert "takes it over" in second.output()


STALE_SECONDS = 3
BEAT_SECONDS = 2


@pytest.mark.postgres
@pytest.mark.worker
@pytest.mark.skipif(not ON_REDIS, reason="needs Redis: set CELERY_BROKER_URL=redis://...")
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_worker_killed_mid_batch_is_resumed_by_the_beat_task_with_no_one_pressing_start(
    tmp_path, settings
):
    """After kill -9, a live worker and the every-minute beat task finish and deliver the batch.

    The stale limit is 3 s and the beat here ticks every 2 s: the takeover starts within one
    stale limit and one tick of the dead worker's last heartbeat, and the batch ends with each
    line once.
    """
    settings.EVALUATION_EXPORT_STALE_SECONDS = STALE_SECONDS
    records = _final_records(ROWS)
    expected = {(record.pk, 1, "new") for record in records}
    batch, _ = export_batch_create(kind=BatchKind.DELTA, fmt="xlsx", period="2026-W48")
    stale_env = {"EVALUATION_EXPORT_STALE_SECONDS": str(STALE_SECONDS)}

    first = Worker(log=tmp_path / "worker-1.log", pause_after=PAUSE_AFTER, env=stale_env)
    second = None
    try:
        tasks.export_batch_run.delay(batch_id=batch.pk)
        inside = wait_until(
            lambda: ExportBatch.objects.filter(
                pk=batch.pk, status=BatchStatus.RUNNING, rows_done__gte=PAUSE_AFTER
            ).exists(),
            timeout=60,
        )
        assert inside, f"the worker never got inside the batch:\n{first.output()}"
        # A second worker is up before the first dies, as a deployment's other worker would be.
        second = Worker(log=tmp_path / "worker-2.log", env=stale_env)
        assert wait_until(lambda: "ready" in second.output(), timeout=60), second.output()
        first.kill()
        killed = time.monotonic()
        last_heartbeat = ExportBatch.objects.get(pk=batch.pk).heartbeat_at

        # The beat: the periodic task sent every BEAT_SECONDS, as celery beat would.
        taken_over = None
        while time.monotonic() - killed < 60:
            current = ExportBatch.objects.get(pk=batch.pk)
            if current.heartbeat_at != last_heartbeat or current.status == BatchStatus.DONE:
                taken_over = time.monotonic()
                break
            tasks.export_stale_resume.delay()
            time.sleep(BEAT_SECONDS)
        assert taken_over, f"no worker took the batch over:\n{second.output()}"
        done = wait_until(
            lambda: ExportBatch.objects.filter(
                pk=batch.pk, status=BatchStatus.DONE, delivered_at__isnull=False
            ).exists(),
            timeout=60,
        )
        finished = time.monotonic()
        assert done, f"the resumed batch was not finished and delivered:\n{second.output()}"
    finally:
        if first.process.poll() is None:
            first.kill()
        if second is not None:
            second.stop()
        _forget_unacked_messages(settings.CELERY_TASK_DEFAULT_QUEUE)

    silent_before_kill = (timezone.now() - last_heartbeat).total_seconds() - (
        time.monotonic() - killed
    )
    print(
        f"resume: taken over {taken_over - killed:.1f} s after the kill "
        f"({silent_before_kill:.1f} s of silence before it), done and delivered "
        f"{finished - killed:.1f} s after the kill"
    )
    assert taken_over - killed <= STALE_SECONDS + BEAT_SECONDS + 2
    (batch,) = ExportBatch.objects.all()
    assert batch.status == BatchStatus.DONE
    assert set(batch.lines.values_list("record_id", "version", "operation")) == expected
    assert ExportedLine.objects.count() == ROWS, "no line lost, none doubled"
    rows = read_rows(batch.file.path)
    assert len(rows) == ROWS
    assert {(int(r["record_id"]), int(r["version"]), r["operation"]) for r in rows} == expected
    delivered = Path(settings.EVALUATION_EXPORT_DIR) / Path(batch.file.name).name
    assert delivered.read_bytes() == Path(batch.file.path).read_bytes()
    assert "stopped; resuming" in second.output()
