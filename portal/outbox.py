"""Follow-up work queued with the change that needs it, never half-done (a transactional outbox).

`task_enqueue` writes an `OutboxMessage` inside the caller's transaction and publishes it once
that transaction commits. A rolled-back change leaves neither the row nor a task. When the
broker cannot take the message (Redis down), the write still succeeds: the message stays
pending with its error, and `outbox_flush` (beat every minute, or `manage.py outbox_flush`)
publishes it once the broker is back. A publish never waits longer than about the broker
timeout (`CELERY_BROKER_TIMEOUT`) and never raises into the request.

A message may be published twice (a process dying between publishing and marking it sent),
so every task queued here must be safe to run twice.
"""

import logging
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import timedelta

from celery import chain
from celery.canvas import Signature, _chain
from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from .celery import app
from .models import OutboxMessage

logger = logging.getLogger(__name__)

# One quick second try, then give up: the message is kept and the flush tries again later.
PUBLISH_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.5,
    "interval_max": 0.5,
}
FLUSH_BATCH = 50
ERROR_LENGTH = OutboxMessage._meta.get_field("last_error").max_length


def task_enqueue(task, *args, **kwargs) -> OutboxMessage:
    """Queue `task(*args, **kwargs)` once the surrounding transaction commits.

    `task` is a Celery task, or a signature or chain of immutable signatures (then without
    further arguments). Call it inside the business transaction (or in autocommit).
    """
    if isinstance(task, Signature):
        if args or kwargs:
            raise TypeError("Give the arguments in the signature.")
        steps = list(task.tasks) if isinstance(task, _chain) else [task]
        first, then = steps[0], [dict(step) for step in steps[1:]]
        name, args, kwargs = first.task, list(first.args), dict(first.kwargs)
    else:
        name, then = task.name, []
    message = OutboxMessage.objects.create(
        task_name=name, args=list(args), kwargs=kwargs, then=then
    )
    transaction.on_commit(lambda: _publish_and_record(message), robust=True)
    return message


def task_enqueue_many(task, kwargs_list: list[dict]) -> list[OutboxMessage]:
    """`task_enqueue(task, **kwargs)` for each of `kwargs_list` (a batch), written in one
    statement; published in order once the surrounding transaction commits."""
    messages = OutboxMessage.objects.bulk_create(
        [OutboxMessage(task_name=task.name, args=[], kwargs=kw, then=[]) for kw in kwargs_list],
        batch_size=1000,
    )

    def publish() -> None:
        for message in messages:
            if _publish_and_record(message):
                break  # the broker refuses: the flush sends the rest later

    if messages:
        transaction.on_commit(publish, robust=True)
    return messages


@dataclass(frozen=True)
class FlushResult:
    sent: int
    pending: int
    error: str = ""
    purged: int = 0


def outbox_flush(*, now=None) -> FlushResult:
    """Publish the pending messages, oldest first; stop at the first the broker refuses.

    A message is due once a publish of it failed, or when it is older than
    `OUTBOX_GRACE_SECONDS` (its process died between commit and publish); a younger one is
    still being published by the request that wrote it. Sent messages older than
    `OUTBOX_KEEP_DAYS` are deleted.
    """
    now = now or timezone.now()
    purged, _ = OutboxMessage.objects.filter(
        sent_at__lt=now - timedelta(days=settings.OUTBOX_KEEP_DAYS)
    ).delete()
    due = Q(sent_at__isnull=True) & (
        Q(attempts__gt=0) | Q(created_at__lt=now - timedelta(seconds=settings.OUTBOX_GRACE_SECONDS))
    )
    # On PostgreSQL two flushes at once lock different rows instead of sending the same twice.
    # SQLite has no row locks, and a transaction held while publishing would stop the worker
    # writing: there, each row is published and marked on its own.
    skip_locked = connection.features.has_select_for_update_skip_locked
    sent, error = 0, ""
    while not error:
        with transaction.atomic() if skip_locked else nullcontext():
            pending = OutboxMessage.objects.filter(due).order_by("created_at", "id")
            if skip_locked:
                pending = pending.select_for_update(skip_locked=True)
            batch = list(pending[:FLUSH_BATCH])
            if not batch:
                break
            for message in batch:
                error = _publish_and_record(message)
                if error:
                    break
                sent += 1
    left = OutboxMessage.objects.filter(sent_at__isnull=True).count()
    return FlushResult(sent=sent, pending=left, error=error, purged=purged)


def _signature(message: OutboxMessage) -> Signature:
    first = app.signature(
        message.task_name, args=message.args, kwargs=message.kwargs, immutable=True
    )
    if not message.then:
        return first
    return chain(first, *(app.signature(step) for step in message.then))


def _publish_and_record(message: OutboxMessage) -> str:
    """Publish one message and record the outcome; returns the error, "" when it was sent."""
    try:
        _signature(message).apply_async(retry=True, retry_policy=PUBLISH_RETRY_POLICY)
    except Exception as exc:  # whatever the broker raises, the write it follows stands
        error = f"{type(exc).__name__}: {exc}"[:ERROR_LENGTH]
        OutboxMessage.objects.filter(pk=message.pk).update(
            attempts=F("attempts") + 1, last_error=error
        )
        logger.warning(
            "Outbox message %s (%s) not queued, kept for the next flush: %s",
            message.pk,
            message.task_name,
            error,
        )
        return error
    OutboxMessage.objects.filter(pk=message.pk).update(sent_at=timezone.now(), last_error="")
    return ""
