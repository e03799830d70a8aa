"""Run this week's export batch from the command line and say what it did."""

import shutil
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from evaluation_export import tasks
from evaluation_export.exporters import FORMAT_VERSIONS
from evaluation_export.models import BatchFormat, BatchKind, BatchStatus
from evaluation_export.selectors import export_batch_operation_counts
from evaluation_export.services import (
    ExportBusy,
    export_batch_create,
    export_batch_run,
    export_dry_run,
)
from portal.messages import message_text


def _operations(counts: dict[str, int]) -> str:
    return ", ".join(f"{operation} {count}" for operation, count in counts.items())


class Command(BaseCommand):
    help = (
        "Export final records to the evaluation system: this week's delta batch (or --full), "
        "run to the end and delivered; prints the rows by operation, the file and its SHA-256."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--full", action="store_true", help="the full state of every final record"
        )
        parser.add_argument(
            "--format", choices=BatchFormat.values, default=BatchFormat.XLSX, dest="fmt"
        )
        parser.add_argument(
            "--format-version",
            type=int,
            choices=FORMAT_VERSIONS,
            default=None,
            dest="format_version",
            help="1 or 2 (adds typical_case); default EVALUATION_EXPORT_FORMAT_VERSION",
        )
        parser.add_argument("--output", type=Path, help="also copy the file to this path")
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="only show (and with --output write) what the batch would hold; record nothing",
        )

    def handle(self, *args, full, fmt, output, dry_run, format_version, **options):
        kind = BatchKind.FULL if full else BatchKind.DELTA
        if output is not None:
            output = output.resolve()
            output.parent.mkdir(parents=True, exist_ok=True)
        if dry_run:
            result = export_dry_run(
                kind=kind, fmt=fmt, output=output, format_version=format_version
            )
            self.stdout.write(f"Dry run ({kind}, {fmt}): nothing was recorded as exported.")
            self.stdout.write(f"Rows: {result.rows} ({_operations(result.operations)})")
            if output is not None:
                self.stdout.write(f"File: {output}")
                self.stdout.write(f"SHA-256: {result.sha256}")
            return

        batch, created = export_batch_create(kind=kind, fmt=fmt, format_version=format_version)
        if batch.format != fmt:
            self.stderr.write(
                f"Batch {batch.period} {kind} exists already as {batch.format}; kept that format."
            )
        if format_version and batch.format_version != format_version:
            self.stderr.write(
                f"Batch {batch.period} {kind} exists already in format "
                f"v{batch.format_version}; kept that version."
            )
        if batch.status == BatchStatus.DONE:
            self.stdout.write(
                f"Batch {batch.period} {kind} was done already "
                f"({batch.finished_at:%Y-%m-%d %H:%M}); one batch per period: nothing new sent."
            )
        else:
            verb = "Running" if created else "Continuing"
            self.stdout.write(
                f"{verb} batch {batch.period} {kind} ({batch.format}, v{batch.format_version}) ..."
            )
            try:
                batch = export_batch_run(batch_id=batch.pk)
            except ExportBusy as error:
                raise CommandError("; ".join(error.messages)) from error
            except Exception as error:
                raise CommandError(f"The batch failed: {error}") from error
        counts = export_batch_operation_counts(batch=batch)
        self.stdout.write(f"Rows: {batch.row_count} ({_operations(counts)})")
        self.stdout.write(f"File: {batch.file.path}")
        self.stdout.write(f"SHA-256: {batch.sha256}")
        if output is not None:
            shutil.copyfile(batch.file.path, output)
            self.stdout.write(f"Copied to: {output}")
        # The delivery task run in this process, retries included (Celery runs them at once).
        tasks.export_batch_deliver.apply(kwargs={"batch_id": batch.pk}).get()
        batch.refresh_from_db()
        if batch.delivered_at:
            self.stdout.write(f"Delivered to: {batch.delivered_to}")
        else:
            error = message_text(batch.delivery_error)
            self.stderr.write(f"Not delivered: {error or 'see the batch page'}")
