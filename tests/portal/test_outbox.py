"""Follow-up work with the broker down: the write stands, its task waits in the outbox and is
queued once the broker is back; a rolled-back write leaves neither a row nor a task.

Redis here is a private redis-server of the test's own (never the shared one), stopped and
started again; the worker is a real Celery worker.
"""

import os
import signal
import time
from datetime import timedelta

import pytest
from celery.contrib.testing.worker import start_worker
from django.core import mail
from django.core.management import CommandError, call_command
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from bases.messages import APPLICATION_CONFIRMED as CONFIRMED
from evaluation_export.models import ExportBatch
from portal import outbox
from portal.celery import app
from portal.models import Notification, OutboxMessage
from portal.services import notification_send
from tests.brokers import RedisServer, broker_at
from tests.factories import PASSWORD, UserFactory
from tests.waiting import wait_until

NOTIFICATION_TASK = "portal.tasks.notification_email_send"


def _pending():
    return OutboxMessage.objects.filter(sent_at__isnull=True)


SEAT = {"session": "图书管理员 2026-12-10 09:00–12:00"}

# -- On any database: the configured broker (filesystem on SQLite) and a dead Redis port ----------


@pytest.mark.django_db(transaction=True)
def test_a_committed_notification_is_handed_to_the_broker_and_marked_sent():
    user = UserFactory(email="li.ming@example.org")
    with transaction.atomic():
        notification = notification_send(user=user, message=CONFIRMED, params=SEAT)
        assert _pending().count() == 1, "written in the same transaction, sent after commit"
    (message,) = OutboxMessage.objects.all()
    assert (message.task_name, message.kwargs) == (
        NOTIFICATION_TASK,
        {"notification_id": notification.pk},
    )
    assert message.sent_at is not None and message.attempts == 0


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_write_leaves_no_outbox_row_and_no_task():
    user = UserFactory()
    with pytest.raises(RuntimeError), transaction.atomic():
        notification_send(user=user, message=CONFIRMED, params=SEAT)
        raise RuntimeError("roll back")
    assert not Notification.objects.exists()
    assert not OutboxMessage.objects.exists()


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_with_the_broker_down_the_write_stands_and_its_email_goes_once_the_broker_is_back():
    user = UserFactory(email="li.ming@example.org")
    down = RedisServer()  # never started: nothing answers on its port
    with broker_at(down.url):
        started = time.monotonic()
        with transaction.atomic():
            notification = notification_send(user=user, message=CONFIRMED, params=SEAT)
        took = time.monotonic() - started
    assert took < 5, f"the write waited {took:.1f} s for the broker"
    assert Notification.objects.filter(pk=notification.pk, emailed_at__isnull=True).exists()
    (message,) = _pending()
    assert message.attempts == 1 and "connecting" in message.last_error.lower()

    # Back on the working broker: the flush queues it, a real worker e-mails it once. (The
    # flush runs before the worker starts: the tests' in-memory SQLite takes one writer at a
    # time and does not wait for the other, unlike a database file.)
    call_command("outbox_flush", stdout=open("/dev/null", "w"))  # noqa: SIM115
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=20):
        assert wait_until(
            lambda: Notification.objects.filter(emailed_at__isnull=False).exists(), timeout=20
        ), f"the worker did not send the e-mail on {app.conf.broker_url}"
    assert not _pending().exists()
    assert [m.to for m in mail.outbox] == [["li.ming@example.org"]]


@pytest.mark.django_db(transaction=True)
def test_the_flush_stops_at_a_refusing_broker_and_keeps_the_rest_pending():
    users = UserFactory.create_batch(2)
    down = RedisServer()
    with broker_at(down.url):
        for user in users:
            # Autocommit: published at once.
            notification_send(user=user, message=CONFIRMED, params=SEAT)
        assert _pending().filter(attempts=1).count() == 2
        with pytest.raises(CommandError, match="refused"):
            call_command("outbox_flush")
    assert sorted(_pending().values_list("attempts", flat=True)) == [1, 2], "stopped at the first"


@pytest.mark.django_db
def test_a_message_never_tried_waits_for_its_request_then_the_flush_sends_it(settings):
    """A fresh row belongs to the request that wrote it; one left behind by a dead process
    is sent by the flush once the grace period is over. Sent rows are purged later."""
    settings.OUTBOX_GRACE_SECONDS = 60
    fresh = OutboxMessage.objects.create(task_name="portal.tasks.portal_tmp_sweep")
    assert outbox.outbox_flush().sent == 0
    OutboxMessage.objects.filter(pk=fresh.pk).update(
        created_at=timezone.now() - timedelta(minutes=2)
    )
    assert outbox.outbox_flush().sent == 1
    old = timezone.now() - timedelta(days=settings.OUTBOX_KEEP_DAYS + 1)
    OutboxMessage.objects.filter(pk=fresh.pk).update(sent_at=old)
    assert outbox.outbox_flush().purged == 1
    assert not OutboxMessage.objects.exists()


# -- PostgreSQL and a real Redis that goes down ----------------------------------------------------


@pytest.mark.postgres
@pytest.mark.worker
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_an_export_started_while_redis_is_down_runs_and_is_delivered_once_redis_is_back(
    client, redis_server, record_property
):
    city_admin = UserFactory(role="city_admin")
    client.login(username=city_admin.username, password=PASSWORD)
    with broker_at(redis_server.url):
        redis_server.stop()
        started = time.monotonic()
        response = client.post(
            reverse("evaluation_export:batch-start"), {"kind": "full", "format": "xlsx"}
        )
        write_seconds = time.monotonic() - started
        batch = ExportBatch.objects.get()
        assert response.status_code == 302
        assert response.url == reverse("evaluation_export:batch-detail", args=[batch.pk])
        assert client.get(response.url).status_code == 200, "the page still loads"
        (message,) = _pending()
        assert message.task_name == "evaluation_export.tasks.export_batch_run"
        assert message.attempts == 1 and message.last_error

        redis_server.start()
        back = time.monotonic()
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=20):
            call_command("outbox_flush", stdout=open("/dev/null", "w"))  # noqa: SIM115
            assert wait_until(
                lambda: ExportBatch.objects.filter(
                    pk=batch.pk, delivered_at__isnull=False
                ).exists(),
                timeout=30,
            ), "the worker did not run and deliver the batch once Redis was back"
        delivered_seconds = time.monotonic() - back
    assert not _pending().exists()
    record_property("write_seconds_with_redis_down", round(write_seconds, 2))
    record_property("delivered_seconds_after_redis_back", round(delivered_seconds, 2))
    print(f"write {write_seconds:.2f} s with Redis down; delivered {delivered_seconds:.2f} s after")
    assert write_seconds < 5, f"the write waited {write_seconds:.1f} s for Redis"


@pytest.mark.postgres
@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_write_rolled_back_while_redis_is_down_queues_nothing_when_it_returns(redis_server):
    user = UserFactory(email="li.ming@example.org")
    with broker_at(redis_server.url):
        redis_server.stop()
        with pytest.raises(RuntimeError), transaction.atomic():
            notification_send(user=user, message=CONFIRMED, params=SEAT)
            raise RuntimeError("the business rule failed after the notification")
        redis_server.start()
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=20):
            assert outbox.outbox_flush().sent == 0
            with transaction.atomic():
                notification_send(user=user, message=CONFIRMED, params=SEAT)
            assert wait_until(lambda: len(mail.outbox) == 1, timeout=20)
    assert not _pending().exists()
    assert [m.body for m in mail.outbox] == ["您的报名已确认"], "only the committed one"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_with_redis_hung_a_write_waits_about_the_broker_timeout_not_minutes(
    redis_server, settings, record_property
):
    """A Redis that stops answering without closing its connections (a frozen host)."""
    user = UserFactory()
    with broker_at(redis_server.url):
        # The pool now holds a connection.
        notification_send(user=user, message=CONFIRMED, params=SEAT)
        os.kill(redis_server.process.pid, signal.SIGSTOP)
        try:
            started = time.monotonic()
            with transaction.atomic():
                notification = notification_send(user=user, message=CONFIRMED, params=SEAT)
            took = time.monotonic() - started
        finally:
            os.kill(redis_server.process.pid, signal.SIGCONT)
    record_property("write_seconds_with_redis_hung", round(took, 2))
    print(f"write {took:.2f} s with Redis hung")
    assert took < 4 * settings.CELERY_BROKER_TIMEOUT
    (message,) = _pending()
    assert message.kwargs == {"notification_id": notification.pk}
    assert "timeout" in message.last_error.lower()


@pytest.mark.django_db
def test_the_admin_lists_what_waits_for_the_broker_and_lets_nobody_edit_it(client):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    OutboxMessage.objects.create(
        task_name=NOTIFICATION_TASK,
        kwargs={"notification_id": 7},
        attempts=2,
        last_error="OperationalError: Error 111 connecting to 127.0.0.1:6379.",
    )
    page = client.get(reverse("admin:portal_outboxmessage_changelist")).content.decode()
    assert NOTIFICATION_TASK in page and "Error 111 connecting" in page
    assert client.get(reverse("admin:portal_outboxmessage_add")).status_code == 403
