"""A small ledger to export: records made, corrected, revoked and finalised by the real services."""

import csv
import io
import itertools
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from evaluation_export.exporters import COLUMNS
from evaluation_export.models import BatchKind, ExportBatch
from evaluation_export.services import export_batch_create, export_batch_run
from portal.models import Role
from students.models import OrganiserLevel, PracticeRecord, RecordedVia, RecordStatus, Student
from students.services import (
    RecordFacts,
    practice_record_correct,
    practice_record_revoke,
    practice_record_upsert,
)
from tests.factories import StudentFactory, UserFactory, category, district

FIRST_START = timezone.make_aware(datetime(2026, 3, 2, 9, 0))
_refs = itertools.count(1)
_periods = itertools.count(1)


class Ledger:
    """Writes the ledger the way the portal does; each new record starts a day after the last."""

    def __init__(self) -> None:
        self.coordinator = UserFactory(role=Role.COORDINATOR, username=f"coord{next(_refs)}")
        self.city_admin = UserFactory(role=Role.CITY_ADMIN, username=f"city{next(_refs)}")
        self.next_start = FIRST_START

    def record(
        self,
        student: Student | None = None,
        *,
        minutes: int = 180,
        hours: int = 3,
        final: bool = True,
        title: str = "图书管理员",
        organiser_name: str = "徐汇区图书馆",
        category_code: str = "volunteer_service",
        recorded_via: str = RecordedVia.ROSTER,
    ) -> PracticeRecord:
        started_at = self.next_start
        self.next_start += timedelta(days=1)
        facts = RecordFacts(
            student=student or StudentFactory(),
            category=category(category_code),
            title=title,
            organiser_name=organiser_name,
            organiser_level=OrganiserLevel.DISTRICT,
            district=district(),
            started_at=started_at,
            ended_at=started_at + timedelta(hours=hours),
            credited_minutes=minutes,
            recorded_via=recorded_via,
        )
        record, _ = practice_record_upsert(
            source_ref=f"test:{next(_refs)}", facts=facts, recorded_by=self.coordinator
        )
        return self.finalise(record) if final else record

    def finalise(self, record: PracticeRecord) -> PracticeRecord:
        PracticeRecord.objects.filter(pk=record.pk).update(
            status=RecordStatus.FINAL, confirmed_at=timezone.now()
        )
        record.refresh_from_db()
        return record

    def correct(self, record: PracticeRecord, *, minutes: int) -> PracticeRecord:
        return practice_record_correct(
            record=record,
            started_at=record.started_at,
            ended_at=record.ended_at,
            credited_minutes=minutes,
            changed_by=self.coordinator,
            reason="签退时间录入有误",
        )

    def revoke(self, record: PracticeRecord) -> PracticeRecord:
        return practice_record_revoke(
            record=record, revoked_by=self.coordinator, reason="学生未实际参加"
        )


@pytest.fixture(autouse=True)
def export_folders(settings, tmp_path):
    """Files of one test never meet another's: media and the drop folder are the test's own."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.EVALUATION_EXPORT_DIR = tmp_path / "drop-folder"


@pytest.fixture
def ledger(db) -> Ledger:
    return Ledger()


def next_period() -> str:
    return f"T-{next(_periods):04d}"


def run_batch(
    kind: str = BatchKind.DELTA, *, fmt: str = "csv", period: str | None = None
) -> ExportBatch:
    batch, _ = export_batch_create(kind=kind, fmt=fmt, period=period or next_period())
    return export_batch_run(batch_id=batch.pk)


def read_rows(path: str | Path) -> list[dict]:
    """The data rows of an export file (xlsx or csv) as dicts keyed by column name."""
    path = Path(path)
    if path.suffix == ".csv":
        raw = path.read_bytes()
        assert raw.startswith("\ufeff".encode()), "the CSV starts with a byte-order mark"
        reader = csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline=""))
        header, *rows = list(reader)
    else:
        sheet = load_workbook(path, read_only=True)["records"]
        header, *rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert tuple(header) == COLUMNS
    return [dict(zip(header, row, strict=True)) for row in rows]


def parse_moment(value) -> datetime:
    """A started_at/ended_at cell as an aware datetime, from CSV text or an xlsx cell."""
    if isinstance(value, datetime):
        return timezone.make_aware(value)
    return datetime.fromisoformat(value)


def parse_int(value) -> int:
    return int(value)


def parse_day(value) -> date:
    if isinstance(value, datetime):
        return value.date()
    return date.fromisoformat(value)


def parse_decimal(value) -> Decimal:
    return Decimal(str(value))
