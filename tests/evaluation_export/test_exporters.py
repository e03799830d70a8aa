"""Format v1: the documented columns in order, typed cells, identifiers as text, no formula."""

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from evaluation_export.exporters import (
    COLUMNS,
    class_name,
    export_rows,
    export_write,
    records_for_batch,
)
from evaluation_export.models import BatchKind
from students.models import RecordedVia, RequirementPolicy
from tests.factories import SchoolClassFactory, SchoolFactory, StudentFactory
from tests.queries import queries_for

from .conftest import read_rows

pytestmark = pytest.mark.django_db

DESIGN_COLUMNS = (
    "record_id, version, operation (new|correction|revocation), student_number, student_name, "
    "school_code, school_name, entry_year, class_name, category, activity_title, organiser_name, "
    "organiser_level, district_code, started_at, ended_at, credited_minutes, credit_hours, days, "
    "recorded_via (roster|scan|import|api|school|transfer), recorded_by, confirmed_at, "
    "notice_ended_on"
)
PAYLOADS = ["=1+1", "+86 21 6666", "-2+3+cmd|' /C calc'!A0", "@SUM(A1)", "\tcmd", "\rcmd"]


def _student(number="0031010420090001", name="李明"):
    school = SchoolFactory(code="0123", name="上海市第二中学")
    school_class = SchoolClassFactory(school=school, entry_year=2025, number=3)
    return StudentFactory(student_number=number, name=name, school_class=school_class)


def test_the_columns_are_those_of_the_design_in_order():
    documented = tuple(
        part.strip().split(" ")[0] for part in DESIGN_COLUMNS.split(", ") if part.strip()
    )
    assert documented == COLUMNS
    assert len(COLUMNS) == 23


def test_a_final_record_becomes_one_row_with_every_column(ledger):
    record = ledger.record(_student(), minutes=150, hours=3)
    (row,) = export_rows(records_for_batch(BatchKind.DELTA))
    values = dict(zip(COLUMNS, row, strict=True))
    assert values == {
        "record_id": str(record.pk),
        "version": 1,
        "operation": "new",
        "student_number": "0031010420090001",
        "student_name": "李明",
        "school_code": "0123",
        "school_name": "上海市第二中学",
        "entry_year": 2025,
        "class_name": "2025级3班",
        "category": "volunteer_service",
        "activity_title": "图书管理员",
        "organiser_name": "徐汇区图书馆",
        "organiser_level": "district",
        "district_code": "310104",
        "started_at": record.started_at,
        "ended_at": record.ended_at,
        "credited_minutes": 150,
        "credit_hours": Decimal("3.75"),
        "days": 1,
        "recorded_via": "roster",
        "recorded_by": ledger.coordinator.username,
        "confirmed_at": record.confirmed_at.replace(microsecond=0),
        "notice_ended_on": record.notice_ends_on,
    }


def test_credit_hours_follow_the_policy_of_the_students_entry_year(ledger):
    RequirementPolicy.objects.create(effective_from_entry_year=2026, minutes_per_credit_hour=45)
    older = ledger.record(StudentFactory(school_class__entry_year=2025), minutes=90)
    newer = ledger.record(StudentFactory(school_class__entry_year=2027), minutes=90)
    hours = {
        row[0]: row[COLUMNS.index("credit_hours")]
        for row in export_rows(records_for_batch(BatchKind.FULL))
    }
    assert hours == {str(older.pk): Decimal("2.25"), str(newer.pk): Decimal("2.00")}


def test_a_multi_day_record_counts_each_shanghai_date_it_spans(ledger):
    record = ledger.record(minutes=5 * 360, hours=4 * 24 + 8, category_code="rural_practice")
    (row,) = export_rows(records_for_batch(BatchKind.FULL))
    assert row[COLUMNS.index("days")] == len(record.dates) == 5


def test_a_record_without_district_or_recorder_has_empty_cells(ledger):
    record = ledger.record(recorded_via=RecordedVia.IMPORT)
    type(record).objects.filter(pk=record.pk).update(district=None, recorded_by=None)
    (row,) = export_rows(records_for_batch(BatchKind.FULL))
    assert row[COLUMNS.index("district_code")] == ""
    assert row[COLUMNS.index("recorded_by")] == ""


def test_the_class_name_does_not_depend_on_the_page_language():
    assert class_name(entry_year=2024, number=12) == "2024级12班"


def test_rows_stream_in_chunks_with_a_fixed_number_of_queries(ledger):
    def rows():
        return list(export_rows(records_for_batch(BatchKind.FULL), chunk_size=3))

    for _ in range(2):
        ledger.record()
    small, few = queries_for(rows)
    for _ in range(10):
        ledger.record()
    large, many = queries_for(rows)
    assert (len(few), len(many)) == (2, 12)
    # One for the policies, one for the rows (a cursor read in chunks), never one per row.
    assert small == large == 2


def test_xlsx_has_sheet_records_text_identifiers_and_typed_values(ledger, tmp_path):
    ledger.record(_student(number="0031010420090001"), minutes=150)
    path = tmp_path / "out.xlsx"
    assert export_write(path, export_rows(records_for_batch(BatchKind.FULL)), fmt="xlsx") == 1
    workbook = load_workbook(path)
    assert workbook.sheetnames == ["records"]
    sheet = workbook["records"]
    header = [cell.value for cell in sheet[1]]
    assert tuple(header) == COLUMNS
    cells = dict(zip(header, sheet[2], strict=True))
    for identifier in ("record_id", "student_number", "school_code", "district_code"):
        assert cells[identifier].data_type == "s", identifier
        assert cells[identifier].number_format == "@", identifier
    assert cells["student_number"].value == "0031010420090001"
    assert cells["school_code"].value == "0123"
    assert cells["credited_minutes"].value == 150
    assert cells["credit_hours"].value == 3.75
    assert cells["started_at"].value == datetime(2026, 3, 2, 9, 0)
    assert cells["notice_ended_on"].is_date


def test_csv_is_utf8_with_a_bom_and_shanghai_times_with_their_offset(ledger, tmp_path):
    record = ledger.record(_student(), minutes=150)
    path = tmp_path / "out.csv"
    export_write(path, export_rows(records_for_batch(BatchKind.FULL)), fmt="csv")
    (row,) = read_rows(path)
    assert row["student_name"] == "李明"
    assert row["student_number"] == "0031010420090001"
    assert row["started_at"] == "2026-03-02T09:00:00+08:00"
    assert row["credit_hours"] == "3.75"
    assert row["notice_ended_on"] == record.notice_ends_on.isoformat()
    assert path.read_bytes().count(b"\r\n") == 2


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_formula_like_text_is_escaped_and_no_cell_is_a_formula(ledger, tmp_path, fmt):
    for index, payload in enumerate(PAYLOADS):
        ledger.record(
            StudentFactory(name=payload), title=payload, organiser_name=f"{payload}{index}"
        )
    path = tmp_path / f"out.{fmt}"
    export_write(path, export_rows(records_for_batch(BatchKind.FULL)), fmt=fmt)
    rows = read_rows(path)
    assert len(rows) == len(PAYLOADS)
    for row, payload in zip(rows, PAYLOADS, strict=True):
        # An XML parser reads a stored CR back as LF; the leading quote is what matters.
        expected = "'" + (payload if fmt == "csv" else payload.replace("\r", "\n"))
        assert row["student_name"] == expected
        assert row["activity_title"] == expected
    if fmt == "xlsx":
        sheet = load_workbook(path)["records"]
        assert not [c for row in sheet.iter_rows() for c in row if c.data_type == "f"]


def test_the_period_of_a_row_does_not_change_with_the_time_zone_of_the_reader(ledger, tmp_path):
    """A 23:30 Shanghai start stays on its Shanghai date in both files."""
    ledger.next_start = timezone.make_aware(datetime(2026, 3, 2, 23, 30))
    ledger.record(hours=1, minutes=60)
    path = tmp_path / "out.csv"
    export_write(path, export_rows(records_for_batch(BatchKind.FULL)), fmt="csv")
    (row,) = read_rows(path)
    assert row["started_at"].startswith("2026-03-02T23:30")
    assert row["days"] == "2"
    assert datetime.fromisoformat(row["ended_at"]) - datetime.fromisoformat(
        row["started_at"]
    ) == timedelta(hours=1)
    assert date.fromisoformat(row["notice_ended_on"])


def test_rows_past_the_sheet_limit_continue_in_records_2_with_the_header(
    ledger, tmp_path, monkeypatch
):
    """Excel holds 1,048,576 rows a sheet; a full export of the city is longer (docs §1)."""
    monkeypatch.setattr("portal.spreadsheets.SHEET_MAX_ROWS", 3)  # 2 data rows a sheet
    student = _student()
    records = [ledger.record(student, minutes=60 + n) for n in range(5)]
    path = tmp_path / "out.xlsx"
    assert export_write(path, export_rows(records_for_batch(BatchKind.FULL)), fmt="xlsx") == 5
    workbook = load_workbook(path, read_only=True)
    assert workbook.sheetnames == ["records", "records_2", "records_3"]
    ids = []
    for name in workbook.sheetnames:
        header, *rows = list(workbook[name].iter_rows(values_only=True))
        assert tuple(header) == COLUMNS
        ids += [row[0] for row in rows]
    assert ids == [str(record.pk) for record in records]
