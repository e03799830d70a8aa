import pytest
from django.utils import timezone

from evaluation_export.models import (
    BatchKind,
    BatchStatus,
    ExportBatch,
    ExportedLine,
    Operation,
)
from tests.constraint_helpers import record_create, refused
from tests.factories import StudentFactory

pytestmark = pytest.mark.django_db

SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def _batch(period="2026-W48", kind=BatchKind.DELTA, **overrides) -> ExportBatch:
    return ExportBatch.objects.create(period=period, kind=kind, **overrides)


def _line(batch, record, version=1, **overrides) -> ExportedLine:
    return ExportedLine.objects.create(
        batch=batch,
        batch_kind=batch.kind,
        record=record,
        version=version,
        operation=Operation.NEW if version == 1 else Operation.CORRECTION,
        **overrides,
    )


class TestExportBatch:
    def test_it_refuses_a_second_batch_of_one_kind_for_one_period(self):
        _batch(period="2026-W48", kind=BatchKind.DELTA)
        with refused(ExportBatch, "one_batch_per_period"):
            _batch(period="2026-W48", kind=BatchKind.DELTA)
        assert _batch(period="2026-W48", kind=BatchKind.FULL).pk
        assert _batch(period="2026-W49", kind=BatchKind.DELTA).pk

    @pytest.mark.parametrize(
        "missing",
        [{"finished_at": None, "sha256": SHA256}, {"finished_at": timezone.now(), "sha256": ""}],
        ids=["without-finish-time", "without-checksum"],
    )
    def test_it_refuses_a_done_batch_without_finish_time_and_checksum(self, missing):
        batch = _batch()
        with refused(ExportBatch, "batch_done_has_checksum"):
            ExportBatch.objects.filter(pk=batch.pk).update(status=BatchStatus.DONE, **missing)
        ExportBatch.objects.filter(pk=batch.pk).update(
            status=BatchStatus.DONE, finished_at=timezone.now(), sha256=SHA256
        )

    def test_a_failed_batch_needs_no_checksum(self):
        batch = _batch()
        ExportBatch.objects.filter(pk=batch.pk).update(status=BatchStatus.FAILED, error="磁盘已满")
        batch.refresh_from_db()
        assert batch.status == BatchStatus.FAILED

    def test_it_refuses_more_rows_written_than_the_batch_has(self):
        batch = _batch(row_count=10)
        with refused(ExportBatch, "batch_progress_within_total"):
            ExportBatch.objects.filter(pk=batch.pk).update(rows_done=11)
        ExportBatch.objects.filter(pk=batch.pk).update(rows_done=10)

    def test_rows_written_are_free_while_the_total_is_not_yet_known(self):
        batch = _batch(row_count=0)
        ExportBatch.objects.filter(pk=batch.pk).update(rows_done=500)
        batch.refresh_from_db()
        assert batch.rows_done == 500


def test_it_refuses_an_unknown_format_version():
    with refused(ExportBatch, "batch_format_version_known"):
        _batch(format_version=3)
    assert _batch(period="2026-W49", format_version=2).format_version == 2


class TestExportedLine:
    def test_it_refuses_a_delta_that_sends_one_record_version_twice(self):
        record = record_create(student=StudentFactory())
        _line(_batch(period="2026-W48"), record, version=1)
        later = _batch(period="2026-W49")
        with refused(ExportedLine, "delta_exports_version_once"):
            _line(later, record, version=1)
        assert _line(later, record, version=2).pk

    def test_full_batches_may_send_a_record_version_again(self):
        record = record_create(student=StudentFactory())
        _line(_batch(period="2026-W48"), record, version=1)
        assert _line(_batch(period="2026-W48", kind=BatchKind.FULL), record, version=1).pk
        assert _line(_batch(period="2026-W49", kind=BatchKind.FULL), record, version=1).pk

    def test_it_refuses_one_record_twice_in_one_batch(self):
        record = record_create(student=StudentFactory())
        batch = _batch(kind=BatchKind.FULL)
        _line(batch, record, version=1)
        with refused(ExportedLine, "line_once_per_batch"):
            _line(batch, record, version=2)
        assert _line(batch, record_create(student=record.student), version=1).pk

    def test_it_refuses_version_zero(self):
        record = record_create(student=StudentFactory())
        batch = _batch()
        with refused(ExportedLine, "line_version_positive"):
            _line(batch, record, version=0)
        assert _line(batch, record, version=1).pk
