"""Batches: what a delta carries, one batch per period, and a run that dies leaves nothing done."""

from datetime import date, timedelta
from pathlib import Path

import pytest
from django.db import IntegrityError, connection
from django.utils import timezone

from evaluation_export import services
from evaluation_export.models import (
    AckStatus,
    BatchKind,
    BatchStatus,
    ExportBatch,
    ExportedLine,
)
from evaluation_export.services import (
    ExportBusy,
    batches,
    export_batch_create,
    export_batch_run,
    export_batches_run_due,
    period_of,
    spool,
)
from portal.models import AuditLog
from tests.constraint_helpers import ON_SQLITE
from tests.factories import StudentFactory

from .conftest import read_rows, run_batch

pytestmark = pytest.mark.django_db


def _lines(batch: ExportBatch) -> set[tuple[int, int, str]]:
    return set(batch.lines.values_list("record_id", "version", "operation"))


def _file_lines(batch: ExportBatch) -> set[tuple[int, int, str]]:
    return {
        (int(row["record_id"]), int(row["version"]), row["operation"])
        for row in read_rows(batch.file.path)
    }


class TestDeltaRules:
    def test_a_first_delta_sends_every_final_record_as_new(self, ledger):
        first, second = ledger.record(), ledger.record()
        ledger.record(final=False)  # still in public notice: not exported
        batch = run_batch()
        assert batch.status == BatchStatus.DONE
        assert _lines(batch) == {(first.pk, 1, "new"), (second.pk, 1, "new")}
        assert _file_lines(batch) == _lines(batch)

    def test_the_next_delta_sends_only_what_changed_since(self, ledger):
        kept = ledger.record()
        corrected = ledger.record()
        revoked = ledger.record()
        run_batch()
        corrected = ledger.correct(corrected, minutes=120)
        revoked = ledger.revoke(revoked)
        added = ledger.record()
        batch = run_batch()
        assert _lines(batch) == {
            (corrected.pk, 2, "correction"),
            (revoked.pk, 2, "revocation"),
            (added.pk, 1, "new"),
        }
        rows = {row["record_id"]: row for row in read_rows(batch.file.path)}
        assert rows[str(corrected.pk)]["credited_minutes"] == "120"
        assert str(kept.pk) not in rows
        assert run_batch().row_count == 0

    def test_a_record_corrected_twice_between_batches_is_sent_once_at_its_latest_version(
        self, ledger
    ):
        record = ledger.record(minutes=180)
        run_batch()
        ledger.correct(record, minutes=150)
        record = ledger.correct(record, minutes=120)
        batch = run_batch()
        assert _lines(batch) == {(record.pk, 3, "correction")}
        (row,) = read_rows(batch.file.path)
        assert row["credited_minutes"] == "120"
        # Version 2 was never sent, and never will be.
        assert not ExportedLine.objects.filter(record=record, version=2).exists()

    def test_a_record_corrected_in_notice_is_first_sent_as_new_at_its_current_version(self, ledger):
        record = ledger.record(final=False)
        record = ledger.finalise(ledger.correct(record, minutes=60))
        assert _lines(run_batch()) == {(record.pk, 2, "new")}

    def test_a_record_revoked_before_it_was_ever_sent_is_never_sent(self, ledger):
        in_notice = ledger.record(final=False)
        ledger.revoke(in_notice)
        final_unsent = ledger.record()
        ledger.revoke(final_unsent)
        assert run_batch().row_count == 0
        assert not ExportedLine.objects.exists()

    def test_a_revoked_record_is_sent_once(self, ledger):
        record = ledger.record()
        run_batch()
        ledger.revoke(record)
        assert run_batch().row_count == 1
        assert run_batch().row_count == 0

    def test_a_full_batch_sends_the_current_state_of_every_final_record(self, ledger):
        sent = ledger.record()
        run_batch()
        corrected = ledger.correct(ledger.record(), minutes=90)
        ledger.revoke(ledger.record())
        ledger.record(final=False)
        full = run_batch(BatchKind.FULL)
        assert _lines(full) == {(sent.pk, 1, "new"), (corrected.pk, 2, "new")}
        # A full batch is a snapshot: the next delta still sends what it has not sent.
        assert _lines(run_batch()) == {(corrected.pk, 2, "new")}

    def test_each_record_version_is_in_one_delta_only(self, ledger):
        records = [ledger.record() for _ in range(5)]
        for _ in range(3):
            run_batch()
            ledger.correct(records[0], minutes=records[0].credited_minutes - 10)
            records[0].refresh_from_db()
        sent = list(
            ExportedLine.objects.filter(batch_kind=BatchKind.DELTA).values_list(
                "record_id", "version"
            )
        )
        assert len(sent) == len(set(sent)) == 5 + 2

    def test_a_correction_after_a_rejected_new_line_is_sent_as_new(self, ledger):
        record = ledger.record()
        batch = run_batch()
        batch.lines.update(ack_status=AckStatus.REJECTED, ack_reason="学籍号不存在")
        record = ledger.correct(record, minutes=60)
        assert _lines(run_batch()) == {(record.pk, 2, "new")}


class TestOneBatchPerPeriod:
    def test_the_period_is_the_iso_week_in_shanghai(self):
        assert period_of(date(2026, 11, 23)) == "2026-W48"
        assert period_of(date(2026, 11, 29)) == "2026-W48"
        assert period_of(date(2027, 1, 1)) == "2026-W53"

    def test_a_second_run_of_the_same_period_returns_the_same_batch(self, ledger):
        ledger.record()
        first, created = export_batch_create(kind=BatchKind.DELTA)
        assert created
        assert first.period == period_of(timezone.localdate())
        export_batch_run(batch_id=first.pk)
        ledger.record()
        again, created = export_batch_create(kind=BatchKind.DELTA, fmt="csv")
        assert (again.pk, created, again.format) == (first.pk, False, "xlsx")
        assert export_batch_run(batch_id=again.pk).row_count == 1
        assert ExportBatch.objects.count() == 1

    def test_the_scheduled_run_finishes_an_unfinished_batch_then_runs_this_week(self, ledger):
        old = ledger.record()
        earlier, _ = export_batch_create(kind=BatchKind.DELTA, period="2026-W47")
        ExportBatch.objects.filter(pk=earlier.pk).update(status=BatchStatus.FAILED, error="x")
        undelivered = export_batches_run_due(today=date(2026, 11, 30))
        earlier.refresh_from_db()
        this_week = ExportBatch.objects.get(period="2026-W49")
        assert (earlier.status, this_week.status) == (BatchStatus.DONE, BatchStatus.DONE)
        assert _lines(earlier) == {(old.pk, 1, "new")}
        assert this_week.row_count == 0
        assert undelivered == [earlier.pk, this_week.pk]
        assert export_batches_run_due(today=date(2026, 11, 30)) == undelivered

    def test_running_a_delta_first_finishes_an_earlier_unfinished_one(self, ledger):
        """Deltas finish in order, so a receiver applying them by period never sees a gap."""
        first = ledger.record()
        earlier, _ = export_batch_create(kind=BatchKind.DELTA, period="2026-W47")
        ExportBatch.objects.filter(pk=earlier.pk).update(status=BatchStatus.FAILED, error="x")
        later, _ = export_batch_create(kind=BatchKind.DELTA, period="2026-W48")
        later = export_batch_run(batch_id=later.pk)
        earlier.refresh_from_db()
        assert _lines(earlier) == {(first.pk, 1, "new")}
        assert later.row_count == 0
        assert earlier.finished_at <= later.finished_at

    def test_a_later_delta_waits_while_an_earlier_one_fails(self, ledger, monkeypatch):
        ledger.record()
        earlier, _ = export_batch_create(kind=BatchKind.DELTA, fmt="csv", period="2026-W47")
        later, _ = export_batch_create(kind=BatchKind.DELTA, fmt="csv", period="2026-W48")

        def disk_full(path, rows, **options):
            raise OSError("No space left on device")

        monkeypatch.setattr(batches, "export_write", disk_full)
        with pytest.raises(OSError):
            export_batch_run(batch_id=later.pk)
        statuses = dict(ExportBatch.objects.values_list("period", "status"))
        assert statuses == {"2026-W47": BatchStatus.FAILED, "2026-W48": BatchStatus.PENDING}

    def test_a_run_is_audited_with_its_rows_by_operation(self, ledger):
        ledger.record()
        batch = run_batch()
        entry = AuditLog.objects.get(action="export.run", object_id=str(batch.pk))
        assert entry.data["operations"] == {"new": 1, "correction": 0, "revocation": 0}
        assert entry.data["sha256"] == batch.sha256

    def test_lines_past_the_memory_block_are_spooled_and_all_recorded(self, ledger, monkeypatch):
        """A run keeps LINES_SPOOL_ROWS lines in memory and spools the rest to a file."""
        monkeypatch.setattr(spool, "LINES_SPOOL_ROWS", 3)
        kept, corrected = [ledger.record() for _ in range(4)], [ledger.record() for _ in range(4)]
        run_batch()
        corrected = [ledger.correct(record, minutes=100 + n) for n, record in enumerate(corrected)]
        revoked = [ledger.revoke(record) for record in kept[:3]]
        fresh = [ledger.record() for _ in range(3)]
        batch = run_batch()
        expected = (
            {(r.pk, r.version, "correction") for r in corrected}
            | {(r.pk, r.version, "revocation") for r in revoked}
            | {(r.pk, 1, "new") for r in fresh}
        )
        assert batch.lines.count() == len(expected) == 10
        assert _lines(batch) == _file_lines(batch) == expected
        entry = AuditLog.objects.get(action="export.run", object_id=str(batch.pk))
        assert entry.data["operations"] == {"new": 3, "correction": 4, "revocation": 3}
        assert batch.row_count == 10


class TestCrashes:
    def test_a_run_that_fails_half_way_marks_nothing_exported_and_the_next_completes(
        self, ledger, monkeypatch, settings
    ):
        records = [ledger.record() for _ in range(5)]
        batch, _ = export_batch_create(kind=BatchKind.DELTA, fmt="csv", period="2026-W48")
        real_rows = batches.export_rows

        def rows_then_crash(queryset, **options):
            for index, row in enumerate(real_rows(queryset, **options)):
                if index == 3:
                    raise OSError("No space left on device")
                yield row

        monkeypatch.setattr(batches, "export_rows", rows_then_crash)
        with pytest.raises(OSError):
            export_batch_run(batch_id=batch.pk)
        batch.refresh_from_db()
        assert (batch.status, batch.sha256, batch.file.name) == (BatchStatus.FAILED, "", "")
        assert "No space left" in batch.error
        assert not ExportedLine.objects.exists()
        assert not list((Path(settings.MEDIA_ROOT) / "exports").glob(".*.part"))

        monkeypatch.setattr(batches, "export_rows", real_rows)
        batch = export_batch_run(batch_id=batch.pk)
        assert batch.status == BatchStatus.DONE
        assert _lines(batch) == {(r.pk, 1, "new") for r in records}
        assert batch.rows_done == batch.row_count == 5

    def test_a_version_another_delta_saved_meanwhile_fails_the_run_and_is_not_sent_twice(
        self, ledger, monkeypatch
    ):
        """The lines go in bulk (COPY on PostgreSQL) and the database still refuses a delta
        line for a (record, version) already sent: the run fails and saves none of its lines."""
        records = [ledger.record() for _ in range(3)]
        other = ExportBatch.objects.create(
            period="2026-W47", kind=BatchKind.DELTA, status=BatchStatus.DONE,
            finished_at=timezone.now(), sha256="0" * 64,
        )  # fmt: skip
        batch, _ = export_batch_create(kind=BatchKind.DELTA, fmt="xlsx", period="2026-W48")
        real_rows = batches.export_rows

        def rows_while_another_batch_sends_one(queryset, **options):
            rows = list(real_rows(queryset, **options))
            ExportedLine.objects.create(
                batch=other, batch_kind=BatchKind.DELTA, record=records[1], version=1,
                operation="new",
            )  # fmt: skip
            yield from rows

        monkeypatch.setattr(batches, "export_rows", rows_while_another_batch_sends_one)
        with pytest.raises(IntegrityError):
            export_batch_run(batch_id=batch.pk)
        batch.refresh_from_db()
        assert batch.status == BatchStatus.FAILED
        assert not batch.lines.exists()
        assert list(ExportedLine.objects.values_list("record_id", flat=True)) == [records[1].pk]

    def test_a_running_batch_whose_runner_died_is_taken_over(self, ledger, settings):
        """A killed worker leaves its batch RUNNING; after its lease, the next run takes it over."""
        records = [ledger.record() for _ in range(3)]
        batch, _ = export_batch_create(kind=BatchKind.DELTA, period="2026-W48")
        long_ago = timezone.now() - timedelta(hours=1)
        ExportBatch.objects.filter(pk=batch.pk).update(
            status=BatchStatus.RUNNING, run_token="dead", heartbeat_at=long_ago, rows_done=2
        )
        settings.EVALUATION_EXPORT_STALE_SECONDS = 600
        batch = export_batch_run(batch_id=batch.pk)
        assert batch.status == BatchStatus.DONE
        assert _lines(batch) == {(r.pk, 1, "new") for r in records}

    @pytest.mark.skipif(not ON_SQLITE, reason="PostgreSQL decides with its advisory lock")
    def test_without_advisory_locks_a_fresh_heartbeat_means_another_run_is_alive(self, ledger):
        ledger.record()
        batch, _ = export_batch_create(kind=BatchKind.DELTA, period="2026-W48")
        ExportBatch.objects.filter(pk=batch.pk).update(
            status=BatchStatus.RUNNING, run_token="alive", heartbeat_at=timezone.now()
        )
        with pytest.raises(ExportBusy):
            export_batch_run(batch_id=batch.pk)
        assert not ExportedLine.objects.exists()

    @pytest.mark.postgres
    def test_on_postgresql_a_live_run_holds_the_advisory_lock(self, ledger):
        ledger.record()
        batch, _ = export_batch_create(kind=BatchKind.DELTA, period="2026-W48")
        import psycopg

        params = connection.get_connection_params()
        params.pop("cursor_factory", None)
        params.pop("context", None)
        with psycopg.connect(**params, autocommit=True) as other:
            other.execute(
                "SELECT pg_advisory_lock(%s, %s)", [services.LOCK_CLASS, services.LOCK_OBJECT]
            )
            with pytest.raises(ExportBusy):
                export_batch_run(batch_id=batch.pk)
            assert not ExportedLine.objects.exists()
            other.execute(
                "SELECT pg_advisory_unlock(%s, %s)", [services.LOCK_CLASS, services.LOCK_OBJECT]
            )
            assert export_batch_run(batch_id=batch.pk).status == BatchStatus.DONE

    def test_a_run_that_lost_its_batch_to_another_run_writes_nothing(self, ledger, monkeypatch):
        ledger.record()
        batch, _ = export_batch_create(kind=BatchKind.DELTA, period="2026-W48")
        real_write = batches.export_write

        def write_then_lose(path, rows, **options):
            count = real_write(path, rows, **options)
            ExportBatch.objects.filter(pk=batch.pk).update(run_token="someone-else")
            return count

        monkeypatch.setattr(batches, "export_write", write_then_lose)
        with pytest.raises(services.ExportTakenOver):
            export_batch_run(batch_id=batch.pk)
        assert not ExportedLine.objects.exists()
        assert ExportBatch.objects.get(pk=batch.pk).status == BatchStatus.RUNNING

    def test_a_done_batch_is_never_run_again(self, ledger):
        ledger.record()
        batch = run_batch(period="2026-W48")
        ledger.record()
        again = export_batch_run(batch_id=batch.pk)
        assert (again.sha256, again.row_count, again.finished_at) == (
            batch.sha256,
            1,
            batch.finished_at,
        )


def test_students_of_other_schools_are_exported_alike(ledger):
    """No scope applies: the export carries the whole city."""
    a, b = ledger.record(StudentFactory()), ledger.record(StudentFactory())
    assert {line[0] for line in _lines(run_batch())} == {a.pk, b.pk}


def test_an_export_that_fails_midway_leaves_no_temporary_file(ledger, monkeypatch, settings):
    """Neither the spool nor openpyxl's row file outlives a run that fails."""
    settings.PORTAL_TMP_DIR = Path(settings.MEDIA_ROOT).parent / "portal-tmp"
    monkeypatch.setattr(spool, "LINES_SPOOL_ROWS", 2)
    for _ in range(5):
        ledger.record()
    batch, _ = export_batch_create(kind=BatchKind.DELTA, fmt="xlsx", period="2026-W48")
    real_rows = batches.export_rows

    def rows_then_crash(queryset, **options):
        for index, row in enumerate(real_rows(queryset, **options)):
            if index == 4:
                assert list(Path(settings.PORTAL_TMP_DIR).iterdir()), "the run's files are there"
                raise OSError("No space left on device")
            yield row

    monkeypatch.setattr(batches, "export_rows", rows_then_crash)
    with pytest.raises(OSError):
        export_batch_run(batch_id=batch.pk)
    assert list(Path(settings.PORTAL_TMP_DIR).iterdir()) == []
    assert not list((Path(settings.MEDIA_ROOT) / "exports").glob(".*.part"))
