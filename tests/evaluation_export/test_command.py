"""`manage.py export_evaluation`: runs this week's batch and says what it did."""

import hashlib
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from evaluation_export.models import BatchKind, BatchStatus, ExportBatch, ExportedLine

from .conftest import read_rows

pytestmark = pytest.mark.django_db


def _run(*args) -> str:
    out = StringIO()
    call_command("export_evaluation", *args, stdout=out, stderr=out)
    return out.getvalue()


def test_it_runs_the_delta_and_prints_rows_by_operation_file_and_checksum(
    ledger, tmp_path, settings
):
    first = ledger.record()
    ledger.record()
    output = tmp_path / "out" / "delta.csv"
    printed = _run("--format", "csv", "--output", str(output))
    batch = ExportBatch.objects.get()
    assert batch.status == BatchStatus.DONE
    assert "Rows: 2 (new 2, correction 0, revocation 0)" in printed
    assert f"SHA-256: {batch.sha256}" in printed
    assert f"File: {batch.file.path}" in printed
    assert hashlib.sha256(output.read_bytes()).hexdigest() == batch.sha256
    assert f"Delivered to: {settings.EVALUATION_EXPORT_DIR}" in printed
    assert {row["record_id"] for row in read_rows(output)} >= {str(first.pk)}


def test_a_second_run_in_the_same_week_sends_nothing_new(ledger):
    ledger.record()
    _run()
    ledger.record()
    printed = _run()
    assert "was done already" in printed
    assert "Rows: 1 " in printed
    assert ExportBatch.objects.count() == 1


def test_full_exports_every_final_record(ledger):
    ledger.record()
    _run()
    ledger.record()
    printed = _run("--full")
    assert "Rows: 2 (new 2, correction 0, revocation 0)" in printed
    assert ExportBatch.objects.get(kind=BatchKind.FULL).row_count == 2


def test_a_dry_run_records_nothing(ledger, tmp_path):
    record = ledger.record()
    output = tmp_path / "preview.xlsx"
    printed = _run("--dry-run", "--output", str(output))
    assert "Dry run" in printed
    assert "Rows: 1 (new 1, correction 0, revocation 0)" in printed
    assert hashlib.sha256(output.read_bytes()).hexdigest() in printed
    assert [row["record_id"] for row in read_rows(output)] == [str(record.pk)]
    assert not ExportBatch.objects.exists()
    assert not ExportedLine.objects.exists()
    assert not list(Path(tmp_path).glob(".*part"))
    assert "Rows: 1 " in _run("--dry-run")
