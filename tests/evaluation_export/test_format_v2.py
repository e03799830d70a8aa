"""Export format v2: v1 with a `typical_case` column (the 典型事例 text); v1 stays as it was.

The v1 file of `golden_ledger` was written by the exporter before v2 existed
(`data/format_v1_golden.csv`): v1 must still write it byte for byte.
"""

import csv
import io
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from evaluation_export.exporters import (
    COLUMNS,
    COLUMNS_V2,
    export_rows,
    export_write,
    records_for_batch,
)
from evaluation_export.models import BatchKind, ExportBatch
from evaluation_export.services import ExportError, export_batch_create, export_batch_run
from portal.models import AuditLog, Role
from students.models import (
    OrganiserLevel,
    PracticeRecord,
    RecordedVia,
    RecordStatus,
    Reflection,
    ReflectionStatus,
)
from tests.factories import SchoolClassFactory, StudentFactory, UserFactory, category, district

pytestmark = pytest.mark.django_db
GOLDEN_V1 = Path(__file__).parent / "data" / "format_v1_golden.csv"
TYPICAL = '整理图书让我学会了耐心。\n也学会了"分类"，=不是公式'
START = timezone.make_aware(datetime(2026, 3, 2, 9, 0))


def golden_ledger() -> list[PracticeRecord]:
    """Three final records with fixed ids and values; the first has a typical case, the second
    a reflection that is not one, the third none."""
    school_class = SchoolClassFactory(
        school__code="310104001", school__name="徐汇中学", entry_year=2025, number=3
    )
    coordinator = UserFactory(role=Role.COORDINATOR, username="coord-golden")
    students = [
        StudentFactory(
            student_number="G310104200901010001", name="李小明", school_class=school_class
        ),
        StudentFactory(
            student_number="G310104200901010002", name="王=丽", school_class=school_class
        ),
    ]
    records = []
    for n, (student, title) in enumerate(
        [(students[0], "图书管理员"), (students[0], "医院分诊引导"), (students[1], "+社区敬老")]
    ):
        start = START + timedelta(days=n)
        records.append(
            PracticeRecord.objects.create(
                pk=9001 + n,
                student=student,
                source_ref=f"golden:{n}",
                category=category(),
                title=title,
                organiser_name="徐汇区图书馆",
                organiser_level=OrganiserLevel.DISTRICT,
                district=district(),
                started_at=start,
                ended_at=start + timedelta(hours=3),
                credited_minutes=170 + n,
                recorded_via=RecordedVia.ROSTER,
                recorded_by=coordinator,
                status=RecordStatus.FINAL,
                notice_ends_on=start.date() + timedelta(days=7),
                confirmed_at=start + timedelta(days=8),
            )
        )
    Reflection.objects.create(
        record=records[0],
        text=TYPICAL,
        notice_ends_on=START.date() + timedelta(days=7),
        is_typical=True,
        typical_marked_at=START + timedelta(days=2),
    )
    Reflection.objects.create(
        record=records[1], text="普通的感悟", notice_ends_on=START.date() + timedelta(days=7)
    )
    return records


def write_csv(path: Path, **version) -> bytes:
    export_write(
        path, export_rows(records_for_batch(BatchKind.FULL), **version), fmt="csv", **version
    )
    return path.read_bytes()


def rows_of(content: bytes) -> list[list[str]]:
    assert content.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"), newline="")))


def test_v1_is_byte_identical_to_the_file_written_before_v2(tmp_path):
    golden_ledger()
    assert write_csv(tmp_path / "default.csv") == GOLDEN_V1.read_bytes()
    assert write_csv(tmp_path / "v1.csv", version=1) == GOLDEN_V1.read_bytes()


def test_a_v1_batch_file_is_byte_identical_too(tmp_path):
    golden_ledger()
    batch, _ = export_batch_create(kind=BatchKind.FULL, fmt="csv", period="G-1", format_version=1)
    batch = export_batch_run(batch_id=batch.pk)
    assert Path(batch.file.path).read_bytes() == GOLDEN_V1.read_bytes()


def test_v2_adds_the_typical_case_column_with_the_text(tmp_path):
    golden_ledger()
    header, *rows = rows_of(write_csv(tmp_path / "v2.csv", version=2))
    assert tuple(header) == COLUMNS_V2 == (*COLUMNS, "typical_case")
    by_id = {row[0]: dict(zip(header, row, strict=True)) for row in rows}
    assert by_id["9001"]["typical_case"] == TYPICAL
    assert by_id["9002"]["typical_case"] == ""  # a reflection, but not a typical case
    assert by_id["9003"]["typical_case"] == ""  # no reflection
    # Every other column is v1's, value for value.
    _header_v1, *rows_v1 = rows_of(GOLDEN_V1.read_bytes())
    assert [row[:-1] for row in rows] == rows_v1


def test_v2_escapes_a_formula_like_typical_case(tmp_path):
    (record, *_rest) = golden_ledger()
    Reflection.objects.filter(record=record).update(text="=HYPERLINK(1)")
    _header, *rows = rows_of(write_csv(tmp_path / "v2.csv", version=2))
    assert rows[0][-1] == "'=HYPERLINK(1)"


@pytest.mark.parametrize("status", [ReflectionStatus.DISPUTED, ReflectionStatus.WITHDRAWN])
def test_a_disputed_or_withdrawn_typical_case_is_not_sent(tmp_path, status):
    golden_ledger()
    Reflection.objects.filter(is_typical=True).update(
        status=status, is_typical=status == ReflectionStatus.DISPUTED
    )
    _header, *rows = rows_of(write_csv(tmp_path / "v2.csv", version=2))
    assert [row[-1] for row in rows] == ["", "", ""]


def test_v2_xlsx_has_the_column(tmp_path):
    golden_ledger()
    path = tmp_path / "v2.xlsx"
    export_write(
        path, export_rows(records_for_batch(BatchKind.FULL), version=2), fmt="xlsx", version=2
    )
    sheet = load_workbook(path, read_only=True)["records"]
    header, first, *_rest = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert tuple(header) == COLUMNS_V2
    assert first[-1] == TYPICAL


def test_the_setting_picks_the_version_of_new_batches_and_a_batch_keeps_its_own(settings):
    golden_ledger()
    settings.EVALUATION_EXPORT_FORMAT_VERSION = 2
    batch, _ = export_batch_create(kind=BatchKind.FULL, fmt="csv", period="G-2")
    assert batch.format_version == 2
    settings.EVALUATION_EXPORT_FORMAT_VERSION = 1
    again, created = export_batch_create(kind=BatchKind.FULL, fmt="csv", period="G-2")
    assert (again.pk, again.format_version, created) == (batch.pk, 2, False)
    batch = export_batch_run(batch_id=batch.pk)
    header, *_rows = rows_of(Path(batch.file.path).read_bytes())
    assert header[-1] == "typical_case"
    audit = AuditLog.objects.get(action="export.run", object_id=str(batch.pk))
    assert audit.data["format_version"] == 2


def test_an_unknown_version_is_refused():
    with pytest.raises(ExportError) as refused:
        export_batch_create(kind=BatchKind.FULL, fmt="csv", period="G-3", format_version=3)
    assert refused.value.code == "unknown_format_version"


def test_the_city_admin_chooses_v2_for_one_run_on_the_page(client, monkeypatch):
    monkeypatch.setattr(
        "evaluation_export.services.batches._queue_run_and_delivery", lambda batch_id: None
    )
    admin = UserFactory(role=Role.CITY_ADMIN)
    client.force_login(admin)
    page = client.get(reverse("evaluation_export:batch-list")).content.decode()
    assert 'name="format_version"' in page
    client.post(
        reverse("evaluation_export:batch-start"),
        {"kind": "full", "format": "csv", "format_version": "2"},
    )
    assert ExportBatch.objects.get().format_version == 2


def test_the_command_writes_v2_on_request(tmp_path):
    golden_ledger()
    output = tmp_path / "out.csv"
    call_command(
        "export_evaluation", "--full", "--format", "csv", "--format-version", "2",
        "--dry-run", "--output", str(output), stdout=io.StringIO(),
    )  # fmt: skip
    header, *_rows = rows_of(output.read_bytes())
    assert header[-1] == "typical_case"
