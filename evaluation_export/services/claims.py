"""Who runs a batch: the export lock, the claim of a batch row, and the lease its progress renews.

On PostgreSQL the lock is a session advisory lock, which the server releases the moment the
holder's connection dies. Elsewhere (SQLite) the lease on the batch rows stands in for it: a
RUNNING batch whose `heartbeat_at` is younger than EVALUATION_EXPORT_STALE_SECONDS has a live
runner; an older one is taken over.
"""

import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ..models import BatchStatus, ExportBatch
from .errors import ExportBusy, ExportTakenOver

logger = logging.getLogger(__name__)

# Key of the advisory lock: (class, object) as two int4; the class reads "EVAL" in ASCII.
LOCK_CLASS = 0x4556414C
LOCK_OBJECT = 1


@contextmanager
def export_lock() -> Iterator[bool]:
    """Hold the export lock; yields True when the database itself holds it (PostgreSQL)."""
    if connection.vendor != "postgresql":
        yield False
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [LOCK_CLASS, LOCK_OBJECT])
        acquired = cursor.fetchone()[0]
    if not acquired:
        raise ExportBusy(_("Another export is running."), code="busy")
    try:
        yield True
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [LOCK_CLASS, LOCK_OBJECT])


def export_run_claim(*, batch_id: int, lock_held: bool) -> tuple[ExportBatch, str] | None:
    """Mark the batch RUNNING under a new token; None if it is done already."""
    now = timezone.now()
    with transaction.atomic():
        batch = ExportBatch.objects.select_for_update().get(pk=batch_id)
        if batch.status == BatchStatus.DONE:
            return None
        if not lock_held:
            # Without an advisory lock, a RUNNING batch with a recent heartbeat has a live runner.
            fresh = now - timedelta(seconds=settings.EVALUATION_EXPORT_STALE_SECONDS)
            if ExportBatch.objects.filter(
                status=BatchStatus.RUNNING, heartbeat_at__gte=fresh
            ).exists():
                raise ExportBusy(_("Another export is running."), code="busy")
        taken_over = batch.status == BatchStatus.RUNNING
        token = uuid.uuid4().hex
        batch.status = BatchStatus.RUNNING
        batch.run_token = token
        batch.started_at = batch.heartbeat_at = now
        batch.finished_at = None
        batch.rows_done = batch.row_count = 0
        batch.error = ""
        batch.save(
            update_fields=[
                "status",
                "run_token",
                "started_at",
                "heartbeat_at",
                "finished_at",
                "rows_done",
                "row_count",
                "error",
            ]
        )
    if taken_over:
        logger.warning("Export batch %s: its last run died; this run takes it over.", batch_id)
    return batch, token


def export_run_progress(
    *, batch_id: int, token: str, rows_done: int, row_count: int | None = None
) -> None:
    """Commit progress and renew the lease; stops the run if another run took the batch."""
    changes: dict[str, Any] = {"heartbeat_at": timezone.now()}
    if row_count is not None:
        changes["row_count"] = row_count
    else:
        changes["rows_done"] = rows_done
    updated = ExportBatch.objects.filter(
        pk=batch_id, run_token=token, status=BatchStatus.RUNNING
    ).update(**changes)
    if not updated:
        raise ExportTakenOver(_("Another run took over this batch."), code="taken_over")


def export_batches_stale() -> list[int]:
    """Ids of RUNNING batches whose heartbeat is older than EVALUATION_EXPORT_STALE_SECONDS."""
    stale = timezone.now() - timedelta(seconds=settings.EVALUATION_EXPORT_STALE_SECONDS)
    return list(
        ExportBatch.objects.filter(status=BatchStatus.RUNNING, heartbeat_at__lt=stale)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
