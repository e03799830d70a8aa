"""Applying every delta batch in order to an empty table gives exactly the ledger's final records.

A seeded random series of new records, corrections, revocations, finalisations and batches (delta
in both formats, the odd full batch between them); the receiver applies each file strictly:
`new` must be unknown to it, `correction` and `revocation` must be known, versions only grow.
"""

import random
from collections import Counter
from datetime import timedelta

import pytest

from evaluation_export.models import BatchKind, BatchStatus, ExportBatch, ExportedLine
from students.models import PracticeRecord, RecordStatus
from students.services import practice_records_finalise
from tests.factories import StudentFactory

from .conftest import parse_int, parse_moment, read_rows, run_batch

pytestmark = pytest.mark.django_db

STEPS = 90


def _apply(table: dict[int, dict], batch: ExportBatch) -> None:
    for row in read_rows(batch.file.path):
        record_id, version = parse_int(row["record_id"]), parse_int(row["version"])
        held = table.get(record_id)
        if row["operation"] == "new":
            assert held is None, f"new for a record the receiver holds: {record_id}"
        else:
            assert held is not None, f"{row['operation']} for an unknown record: {record_id}"
            assert version > held["version"], "versions only grow"
        if row["operation"] == "revocation":
            del table[record_id]
        else:
            table[record_id] = {
                "version": version,
                "student_number": row["student_number"],
                "started_at": parse_moment(row["started_at"]),
                "ended_at": parse_moment(row["ended_at"]),
                "credited_minutes": parse_int(row["credited_minutes"]),
            }


def _ledger_final() -> dict[int, dict]:
    return {
        record.pk: {
            "version": record.version,
            "student_number": record.student.student_number,
            "started_at": record.started_at,
            "ended_at": record.ended_at,
            "credited_minutes": record.credited_minutes,
        }
        for record in PracticeRecord.objects.filter(status=RecordStatus.FINAL).select_related(
            "student"
        )
    }


def _minutes_by_student(table: dict[int, dict]) -> Counter:
    minutes = Counter()
    for row in table.values():
        minutes[row["student_number"]] += row["credited_minutes"]
    return minutes


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_all_deltas_applied_in_order_rebuild_the_ledgers_final_records(ledger, seed):
    rng = random.Random(seed)
    students = [StudentFactory() for _ in range(4)]
    records: list[PracticeRecord] = []
    formats = ["csv", "xlsx"]

    def live():
        return [r for r in records if r.status != RecordStatus.REVOKED]

    for step in range(STEPS):
        action = rng.choices(
            ["add", "correct", "revoke", "finalise_one", "finalise_due", "delta", "full"],
            weights=[30, 18, 9, 12, 4, 12, 2],
        )[0]
        if action == "add" or not records:
            records.append(ledger.record(rng.choice(students), final=rng.random() < 0.3))
        elif action == "correct" and live():
            record = rng.choice(live())
            records[records.index(record)] = ledger.correct(record, minutes=rng.randrange(30, 181))
        elif action == "revoke" and live():
            record = rng.choice(live())
            records[records.index(record)] = ledger.revoke(record)
        elif action == "finalise_one":
            waiting = [r for r in records if r.status == RecordStatus.IN_NOTICE]
            if waiting:
                record = rng.choice(waiting)
                records[records.index(record)] = ledger.finalise(record)
        elif action == "finalise_due":
            due = max((r.notice_ends_on for r in records if r.notice_ends_on), default=None)
            if due:
                practice_records_finalise(today=due + timedelta(days=1))
                for record in records:
                    record.refresh_from_db()
        elif action == "delta":
            assert run_batch(fmt=formats[step % 2]).status == BatchStatus.DONE
        elif action == "full":
            assert run_batch(BatchKind.FULL, fmt="csv").status == BatchStatus.DONE
    run_batch(fmt="xlsx")

    table: dict[int, dict] = {}
    for batch in ExportBatch.objects.filter(kind=BatchKind.DELTA).order_by("pk"):
        _apply(table, batch)
    expected = _ledger_final()
    assert table == expected
    assert _minutes_by_student(table) == _minutes_by_student(expected)

    full: dict[int, dict] = {}
    _apply(full, run_batch(BatchKind.FULL, fmt="xlsx"))
    assert full == expected

    sent = list(
        ExportedLine.objects.filter(batch_kind=BatchKind.DELTA).values_list("record_id", "version")
    )
    assert len(sent) == len(set(sent)), "each (record, version) in one delta only"
    operations = Counter(
        ExportedLine.objects.filter(batch_kind=BatchKind.DELTA).values_list("operation", flat=True)
    )
    assert min(operations[op] for op in ("new", "correction", "revocation")) > 0, operations
