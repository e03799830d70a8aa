"""The shared xlsx writer: rows out as typed, identifiers as text, formula-like text defused."""

import io
import zipfile
from datetime import date, datetime, time
from decimal import Decimal

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from portal.spreadsheets import (
    SHEET_MAX_ROWS,
    escape_text,
    numbered_sheet_title,
    sheet_title,
    write_xlsx,
    write_xlsx_to,
)


def _open(content: bytes):
    return load_workbook(io.BytesIO(content)).active


def _values(sheet):
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def test_it_writes_the_header_then_the_rows_in_order():
    content = write_xlsx([["李明", "上海中学"], ["王芳", "复旦附中"]], ["Name", "School"], "List")
    assert _values(_open(content)) == [
        ["Name", "School"],
        ["李明", "上海中学"],
        ["王芳", "复旦附中"],
    ]


def test_it_takes_the_rows_from_a_generator_once():
    rows = ([n, f"S{n}"] for n in range(1, 501))
    sheet = _open(write_xlsx(rows, ["n", "code"], "Many"))
    assert sheet.max_row == 501
    assert [cell.value for cell in sheet[501]] == [500, "S500"]


def test_the_sheet_has_the_given_title():
    assert _open(write_xlsx([], ["a"], "Applicants 2025-03-01")).title == "Applicants 2025-03-01"


def test_a_title_excel_would_refuse_is_made_acceptable():
    assert sheet_title("Applicants 09:00 [A/B]?") == "Applicants 09-00 -A-B--"
    assert len(sheet_title("x" * 40)) == 31
    assert _open(write_xlsx([], ["a"], "a:b*c")).title == "a-b-c"


def test_identifiers_are_text_cells_and_keep_their_leading_zeros():
    sheet = _open(write_xlsx([["0012345678", "G310***********234"]], ["id", "masked"], "T"))
    number, masked = sheet["A2"], sheet["B2"]
    assert (number.value, number.data_type, number.number_format) == ("0012345678", "s", "@")
    assert (masked.value, masked.data_type) == ("G310***********234", "s")


@pytest.mark.parametrize("text", ["=1+1", "+86 21", "-2", "@SUM(A1)", "\tcmd", "\rcmd"])
def test_formula_like_text_gets_a_leading_quote_and_stays_text(text):
    cell = _open(write_xlsx([[text]], ["name"], "T"))["A2"]
    # An XML parser reads a stored CR back as LF; the leading quote is what matters.
    assert cell.value == "'" + text.replace("\r", "\n")
    assert cell.data_type == "s"


def test_the_header_is_escaped_too():
    assert _open(write_xlsx([], ["=HYPERLINK()"], "T"))["A1"].value == "'=HYPERLINK()"


@pytest.mark.parametrize("text", ["a=b", "李=明", "x-1", "'quoted", ""])
def test_ordinary_text_is_left_alone(text):
    assert escape_text(text) == text


def test_control_characters_an_xlsx_cannot_hold_are_dropped():
    assert _open(write_xlsx([["a\x01b\x00c"]], ["x"], "T"))["A2"].value == "abc"


def test_numbers_dates_and_empty_cells_keep_their_type():
    moment = timezone.make_aware(datetime(2025, 3, 1, 9, 30))
    sheet = _open(write_xlsx([[3, 2.5, date(2025, 3, 1), moment, None]], list("abcde"), "T"))
    assert [cell.value for cell in sheet[2]] == [
        3,
        2.5,
        datetime(2025, 3, 1, 0, 0),
        datetime(2025, 3, 1, 9, 30),
        None,
    ]


def test_an_aware_time_is_written_as_shanghai_wall_clock_time(settings):
    settings.TIME_ZONE = "Asia/Shanghai"
    moment = datetime.fromisoformat("2025-03-01T01:30:00+00:00")
    assert _open(write_xlsx([[moment]], ["at"], "T"))["A2"].value == datetime(2025, 3, 1, 9, 30)


def test_rows_past_the_sheet_limit_go_on_in_numbered_sheets_each_with_the_header():
    rows = ([n, f"S{n}"] for n in range(1, 8))
    workbook = load_workbook(io.BytesIO(write_xlsx_limited(rows, max_rows=4)))
    assert workbook.sheetnames == ["records", "records_2", "records_3"]
    assert [_values(workbook[name]) for name in workbook.sheetnames] == [
        [["n", "code"], [1, "S1"], [2, "S2"], [3, "S3"]],
        [["n", "code"], [4, "S4"], [5, "S5"], [6, "S6"]],
        [["n", "code"], [7, "S7"]],
    ]


def test_a_numbered_sheet_title_stays_within_excels_31_characters():
    assert numbered_sheet_title("x" * 40, 1) == "x" * 31
    assert numbered_sheet_title("x" * 40, 12) == "x" * 28 + "_12"


def test_the_default_limit_is_excels():
    assert SHEET_MAX_ROWS == 2**20


def write_xlsx_limited(rows, *, max_rows: int) -> bytes:
    buffer = io.BytesIO()
    write_xlsx_to(buffer, rows, ["n", "code"], "records", max_rows=max_rows)
    return buffer.getvalue()


def _openpyxl_reference(rows, header, title) -> bytes:
    """The same table written cell by cell through openpyxl's own write-only writer."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    zone = timezone.get_current_timezone()
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title)

    def cells(row):
        out = []
        for value in row:
            if isinstance(value, datetime) and value.tzinfo is not None:
                value = value.astimezone(zone).replace(tzinfo=None)
            if value is None or isinstance(value, bool | int | float | Decimal | date | time):
                out.append(value)
            else:
                cell = WriteOnlyCell(sheet, value=escape_text(str(value)))
                cell.number_format = "@"
                out.append(cell)
        return out

    sheet.append(cells(header))
    for row in rows:
        sheet.append(cells(row))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _members(content: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


ODD_VALUES = [
    "李明", "", " ", " padded ", "a&b<c>d\"e'f", "line\nbreak", "#N/A", "#DIV/0!", "=1+1",
    "\tcmd", "x" * 40_000, "\ud83d\ude00 😀", "\x01ctl", 0, -7, 10**17, 2**70, 1.5, 1e-9,
    float("nan"), float("inf"), Decimal("1.50"), Decimal("NaN"), True, False,
    date(2026, 10, 7), datetime(2026, 10, 7, 9, 0, 0), datetime(1900, 2, 1, 12, 30),
    time(9, 30), None, 12.0, Decimal("-0.00"),
]  # fmt: skip


def test_the_file_holds_the_very_xml_openpyxl_would_write_for_the_same_cells(settings):
    settings.TIME_ZONE = "Asia/Shanghai"
    moment = datetime.fromisoformat("2025-03-01T01:30:00.123456+00:00")
    rows = [ODD_VALUES, [moment, None, None, "after gaps"], [], ODD_VALUES[::-1]]
    rows += [[n, f"S{n}", n * 1.25] for n in range(3000)]  # past one write of rows, the cache
    header = ["text", "=HYPERLINK()", 3, date(2026, 1, 1)]
    ours = _members(write_xlsx(rows, header, "records"))
    reference = _members(_openpyxl_reference(rows, header, "records"))
    assert ours.keys() == reference.keys()
    for name in ("xl/worksheets/sheet1.xml", "xl/styles.xml", "xl/workbook.xml"):
        assert ours[name] == reference[name], name
