"""Export batches: one per period and kind, run once to the end whether or not a worker dies.

How a run stays exactly-once (docs/export-format.md, "Running a batch"):

1. It takes the export lock: a PostgreSQL session advisory lock, which the server releases the
   moment the holder's connection dies; elsewhere (SQLite) a lease on the batch rows, renewed
   with every chunk (`heartbeat_at`) and free once older than EVALUATION_EXPORT_STALE_SECONDS.
2. It claims the batch row with a fresh `run_token`; a RUNNING batch whose runner died is simply
   claimed again (taken over).
3. It streams the rows into a temporary file next to the final one, keeping only
   (record, version, operation) of each row, and commits progress as it goes.
4. In ONE transaction at the end it writes the exported lines in bulk (the unique constraint on
   (record, version) of delta lines is the last guard), moves the file into place and marks
   the batch done. A crash before that commit leaves no line and no done batch behind.
"""

import hashlib
import logging
import os
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from celery import chain
from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.models import User
from portal.outbox import task_enqueue
from portal.services import audit_log_record

from ..exporters import (
    FORMAT_VERSIONS,
    export_rows,
    export_write,
    file_extension,
    records_for_batch,
)
from ..messages import RUN_FAILED
from ..models import BatchFormat, BatchKind, BatchStatus, ExportBatch
from .claims import export_batches_stale, export_lock, export_run_claim, export_run_progress
from .errors import ExportBusy, ExportError, ExportTakenOver
from .spool import LineSpool

logger = logging.getLogger(__name__)

EXPORT_DIR = "exports"
PROGRESS_EVERY = 1000


# ------------------------------------------------------------------------------
# Periods
# ------------------------------------------------------------------------------
def period_of(day: date) -> str:
    """The period of delta and full batches: the ISO week of a Shanghai date, `2026-W48`."""
    year, week, _weekday = day.isocalendar()
    return f"{year}-W{week:02d}"


def resend_period_of(moment: datetime) -> str:
    """A re-send batch's period: the Shanghai minute it was asked for, `2026-11-30T1015`."""
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H%M")


def batch_file_name(batch: ExportBatch) -> str:
    """`exports/evaluation-export-2026-W48-delta.xlsx`: one name per batch, rerun or not."""
    extension = file_extension(batch.format)
    return f"{EXPORT_DIR}/evaluation-export-{batch.period}-{batch.kind}.{extension}"


# ------------------------------------------------------------------------------
# Creating and starting batches
# ------------------------------------------------------------------------------
def export_batch_create(
    *,
    kind: str,
    fmt: str = BatchFormat.XLSX,
    requested_by: User | None = None,
    period: str | None = None,
    format_version: int | None = None,
) -> tuple[ExportBatch, bool]:
    """The batch of `kind` for `period` (default: this week), created if absent, in format
    `format_version` (default `EVALUATION_EXPORT_FORMAT_VERSION`).

    Returns (batch, created). An existing batch is returned as it is, whatever its format:
    a second run of the same period continues or shows that batch, never adds one. A re-send
    batch is the unfinished one if any, else a new one for the current minute.
    """
    if kind == BatchKind.RESEND:
        unfinished = ExportBatch.objects.filter(kind=BatchKind.RESEND).exclude(
            status=BatchStatus.DONE
        )
        batch = unfinished.order_by("created_at", "pk").first()
        if batch is not None:
            return batch, False
        period = period or resend_period_of(timezone.now())
    period = period or period_of(timezone.localdate())
    version = format_version or settings.EVALUATION_EXPORT_FORMAT_VERSION
    if version not in FORMAT_VERSIONS:
        raise ExportError(
            _("Unknown export format version %(version)s.") % {"version": version},
            code="unknown_format_version",
        )
    # get_or_create catches the IntegrityError of a concurrent create and fetches that row:
    # the unique (period, kind) constraint is what makes "one batch per period" true.
    batch, created = ExportBatch.objects.get_or_create(
        period=period,
        kind=kind,
        defaults={"format": fmt, "format_version": version, "requested_by": requested_by},
    )
    if created:
        audit_log_record(
            actor=requested_by,
            action="export.create",
            target=batch,
            data={"period": period, "kind": kind, "format": fmt, "format_version": version},
        )
    return batch, created


@transaction.atomic
def export_batch_start(
    *, kind: str, fmt: str, requested_by: User | None, format_version: int | None = None
) -> tuple[ExportBatch, bool]:
    """Create (or find) this period's batch and queue its run and delivery after commit."""
    if kind == BatchKind.RESEND and not records_for_batch(BatchKind.RESEND).exists():
        raise ExportError(_("There are no rejected lines to send again."), code="nothing_to_resend")
    batch, created = export_batch_create(
        kind=kind, fmt=fmt, requested_by=requested_by, format_version=format_version
    )
    if batch.status != BatchStatus.DONE:
        _queue_run_and_delivery(batch.pk)
    return batch, created


def _queue_run_and_delivery(batch_id: int) -> None:
    # Imported here: the tasks module calls these services, so importing it at the top of this
    # module would be circular.
    from .. import tasks

    task_enqueue(
        chain(
            tasks.export_batch_run.si(batch_id=batch_id),
            tasks.export_batch_deliver.si(batch_id=batch_id),
        )
    )


def export_batches_run_due(*, today: date | None = None) -> list[int]:
    """The scheduled run: this week's delta batch, after any unfinished earlier one.

    Raises ExportBusy while another run holds the export lock (the task retries).

    Returns the ids of every done batch still waiting for delivery (this run's and any whose
    delivery never happened), oldest first.
    """
    today = today or timezone.localdate()
    batch, _ = export_batch_create(kind=BatchKind.DELTA, period=period_of(today))
    try:
        export_batch_run(batch_id=batch.pk)
    except ExportBusy:
        raise
    except Exception:
        # Logged and kept on the batch; batches done earlier still get delivered below.
        logger.exception("Export batch %s failed.", batch.pk)
    return list(
        ExportBatch.objects.filter(status=BatchStatus.DONE, delivered_at__isnull=True)
        .order_by("created_at", "pk")
        .values_list("pk", flat=True)
    )


def export_batches_resume_stale() -> list[int]:
    """Take over and finish every running batch whose runner went silent; returns the done ids.

    A batch another live run holds (the export lock or a fresh heartbeat) is left to it; a
    batch that fails is logged and kept FAILED on its row, as a run started by hand would be.
    """
    resumed = []
    for batch_id in export_batches_stale():
        logger.warning("Export batch %s: its worker stopped; resuming it.", batch_id)
        try:
            batch = export_batch_run(batch_id=batch_id)
        except (ExportBusy, ExportTakenOver):
            continue
        except Exception:
            logger.exception("Export batch %s failed.", batch_id)
            continue
        if batch.status == BatchStatus.DONE:
            resumed.append(batch_id)
    return resumed


# ------------------------------------------------------------------------------
# Running a batch
# ------------------------------------------------------------------------------
def _tracked(
    rows: Iterable[Sequence[Any]], *, lines: LineSpool, batch: ExportBatch, token: str, total: int
) -> Iterator[Sequence[Any]]:
    """Pass rows to the writer, remembering each line and committing progress as it goes."""
    for row in rows:
        lines.add(row)
        yield row
        done = len(lines)
        if done % PROGRESS_EVERY == 0:
            export_run_progress(
                batch_id=batch.pk, token=token, rows_done=min(done, total) if total else done
            )


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as source:
        for block in iter(lambda: source.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _remove_leftovers(final_path: Path, keep: Path | None = None) -> None:
    """Temporary files of earlier runs of this batch that died before moving theirs."""
    for leftover in final_path.parent.glob(f".{final_path.name}.*.part"):
        if leftover != keep:
            with suppress(FileNotFoundError):
                leftover.unlink()


def export_batch_run(*, batch_id: int) -> ExportBatch:
    """Run a batch to the end, or continue one whose run died; a done batch is returned as is.

    Delta batches finish in the order they were created: an earlier delta batch that is not
    done is run first, so a receiver applying deltas by period never sees them out of order.
    Raises ExportBusy when another live run holds the export lock. Any other failure marks the
    batch FAILED (no line written) and is raised again; the next run starts it afresh.
    """
    with export_lock() as lock_held:
        batch = ExportBatch.objects.get(pk=batch_id)
        if batch.kind == BatchKind.DELTA and batch.status != BatchStatus.DONE:
            earlier = (
                ExportBatch.objects.filter(kind=BatchKind.DELTA, pk__lt=batch.pk)
                .exclude(status=BatchStatus.DONE)
                .order_by("pk")
                .values_list("pk", flat=True)
            )
            for earlier_id in list(earlier):
                _run_one(batch_id=earlier_id, lock_held=lock_held)
        _run_one(batch_id=batch_id, lock_held=lock_held)
    return ExportBatch.objects.get(pk=batch_id)


def _run_one(*, batch_id: int, lock_held: bool) -> None:
    claimed = export_run_claim(batch_id=batch_id, lock_held=lock_held)
    if claimed is None:
        return
    batch, token = claimed
    name = batch_file_name(batch)
    final_path = Path(default_storage.path(name))
    final_path.parent.mkdir(parents=True, exist_ok=True)
    temp_path = final_path.with_name(f".{final_path.name}.{token}.part")
    _remove_leftovers(final_path)
    try:
        _write_and_finish(batch=batch, token=token, name=name, temp_path=temp_path)
    except ExportTakenOver:
        with suppress(FileNotFoundError):
            temp_path.unlink()
        raise
    except Exception as exc:
        with suppress(FileNotFoundError):
            temp_path.unlink()
        ExportBatch.objects.filter(pk=batch_id, run_token=token).update(
            status=BatchStatus.FAILED,
            error=RUN_FAILED(error=f"{type(exc).__name__}: {exc}"[:1500]).encode(),
        )
        raise


def _write_and_finish(*, batch: ExportBatch, token: str, name: str, temp_path: Path) -> None:
    records = records_for_batch(batch.kind)
    total = records.count()
    export_run_progress(batch_id=batch.pk, token=token, rows_done=0, row_count=total)
    lines = LineSpool()
    try:
        version = batch.format_version
        rows = _tracked(
            export_rows(records, version=version),
            lines=lines,
            batch=batch,
            token=token,
            total=total,
        )
        export_write(temp_path, rows, fmt=batch.format, version=version)
        sha256 = _sha256_of(temp_path)
        export_run_progress(
            batch_id=batch.pk, token=token, rows_done=min(len(lines), total or len(lines))
        )
        _finish(
            batch_id=batch.pk, token=token, name=name, temp_path=temp_path, lines=lines, sha=sha256
        )
    finally:
        lines.close()


@transaction.atomic
def _finish(
    *, batch_id: int, token: str, name: str, temp_path: Path, lines: LineSpool, sha: str
) -> None:
    """Lines, file and done status: all in one transaction, or none of them."""
    batch = ExportBatch.objects.select_for_update().get(pk=batch_id)
    if batch.run_token != token or batch.status != BatchStatus.RUNNING:
        raise ExportTakenOver(_("Another run took over this batch."), code="taken_over")
    lines.insert(batch=batch)
    # The move happens before the commit: a done batch always has its file; a crash between
    # the two leaves a file no done batch points to, which the next run replaces.
    os.replace(temp_path, default_storage.path(name))
    now = timezone.now()
    batch.status = BatchStatus.DONE
    batch.file.name = name
    batch.sha256 = sha
    batch.row_count = batch.rows_done = len(lines)
    batch.finished_at = batch.heartbeat_at = now
    batch.error = ""
    batch.save()
    audit_log_record(
        actor=batch.requested_by,
        action="export.run",
        target=batch,
        data={
            "rows": batch.row_count,
            "operations": lines.counts(),
            "sha256": sha,
            "file": name,
            "format_version": batch.format_version,
        },
    )


# ------------------------------------------------------------------------------
# Reading a batch's file, and a dry run
# ------------------------------------------------------------------------------
def export_batch_download(*, batch: ExportBatch, user: User) -> Path:
    """The path of a done batch's file; each download is audited."""
    if batch.status != BatchStatus.DONE or not batch.file:
        raise ExportError(_("This batch has no file yet."), code="not_done")
    audit_log_record(
        actor=user,
        action="export.download",
        target=batch,
        data={"file": batch.file.name, "sha256": batch.sha256},
    )
    return Path(batch.file.path)


@dataclass
class DryRun:
    rows: int
    operations: dict[str, int]
    sha256: str = ""


def export_dry_run(
    *, kind: str, fmt: str, output: Path | None = None, format_version: int | None = None
) -> DryRun:
    """The rows the next batch of `kind` would carry, written to `output` if given; no batch."""
    version = format_version or settings.EVALUATION_EXPORT_FORMAT_VERSION
    lines = LineSpool()

    def remembered(rows):
        for row in rows:
            lines.add(row)
            yield row

    rows = remembered(export_rows(records_for_batch(kind), version=version))
    if output is None:
        for _row in rows:
            pass
        lines.close()
        return DryRun(rows=len(lines), operations=lines.counts())
    temp_path = output.with_name(f".{output.name}.{uuid.uuid4().hex}.part")
    try:
        export_write(temp_path, rows, fmt=fmt, version=version)
        os.replace(temp_path, output)
    finally:
        lines.close()
        with suppress(FileNotFoundError):
            temp_path.unlink()
    return DryRun(rows=len(lines), operations=lines.counts(), sha256=_sha256_of(output))
