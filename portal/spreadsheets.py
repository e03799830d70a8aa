"""Spreadsheet output shared by every list a user downloads: one writer, one set of safety rules.

Rows come in once (any iterable, e.g. a generator) and go out through openpyxl's write-only mode,
so memory stays bounded whatever the number of rows; past Excel's 1,048,576 rows a sheet, the
rows go on in a next sheet (`records_2`, …) under the header again. Every text cell is written as
text (number format `@`), which keeps identifiers such as 学籍号 from turning into numbers or
dates, and text beginning with `= + - @`, a tab or a carriage return gets a leading `'` so that a
spreadsheet never runs it as a formula (CSV/formula injection).
"""

import csv
import io
import os
import re
from collections.abc import Iterable, Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from typing import IO, Any

from django.utils import timezone
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._writer import ALL_TEMP_FILES, WorksheetWriter

from .tempfiles import portal_tmp_path

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
#: Rows an xlsx sheet can hold (Excel's limit: 2**20), the header row included.
SHEET_MAX_ROWS = 1_048_576
TEXT_FORMAT = "@"
SHEET_TITLE_MAX = 31
# Characters Excel refuses in a sheet title.
SHEET_TITLE_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")


def escape_text(value: str) -> str:
    """Text as a spreadsheet shows it but never evaluates: formula-like text gets a leading '."""
    # Control characters other than tab, LF and CR are not allowed in an xlsx file at all.
    value = ILLEGAL_CHARACTERS_RE.sub("", value)
    if value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def sheet_title(title: str) -> str:
    """A title Excel accepts: no []:*?/\\ and at most 31 characters."""
    cleaned = SHEET_TITLE_FORBIDDEN.sub("-", str(title)).strip("' ")
    return cleaned[:SHEET_TITLE_MAX] or "Sheet1"


class _RowCells:
    """Turns a row of values into what a write-only sheet appends, fast.

    Numbers, dates and empty values go in as they are; aware times as the wall-clock time of the
    active zone (Excel has no time zones); anything else as escaped text in a cell formatted as
    text. openpyxl writes an appended row out before `append` returns, so each column's text
    cell is styled once and reused row after row instead of building a styled cell per value.
    """

    def __init__(self, sheet) -> None:
        self.sheet = sheet
        self.zone = timezone.get_current_timezone()
        self.text_cells: list[WriteOnlyCell] = []

    def _text_cell(self, column: int) -> WriteOnlyCell:
        while len(self.text_cells) <= column:
            cell = WriteOnlyCell(self.sheet)
            cell.number_format = TEXT_FORMAT
            self.text_cells.append(cell)
        return self.text_cells[column]

    def __call__(self, row: Sequence[Any]) -> list[Any]:
        cells = []
        for column, value in enumerate(row):
            if value is None or isinstance(value, bool | int | float | Decimal):
                cells.append(value)
            elif isinstance(value, datetime):
                if value.tzinfo is not None:
                    value = value.astimezone(self.zone).replace(tzinfo=None)
                cells.append(value)
            elif isinstance(value, date | time):
                cells.append(value)
            else:
                cell = self._text_cell(column)
                cell.value = escape_text(str(value))
                cells.append(cell)
        return cells


def numbered_sheet_title(title: str, number: int) -> str:
    """The title of the `number`-th sheet of one table: `records`, `records_2`, `records_3`…"""
    if number == 1:
        return sheet_title(title)
    suffix = f"_{number}"
    return sheet_title(title)[: SHEET_TITLE_MAX - len(suffix)] + suffix


def _start_sheet_writer(sheet) -> None:
    """Give a write-only sheet its row file in the portal's folder (0600), not the system's."""
    # openpyxl would make this file itself, in the system temp folder, on the first append.
    path = str(portal_tmp_path(prefix="openpyxl.", suffix=".xml"))
    # openpyxl removes the file once the sheet is saved, and expects it in its own list.
    ALL_TEMP_FILES.append(path)
    sheet._writer = WorksheetWriter(sheet, out=path)
    sheet._writer.write_top()


def _remove_sheet_files(workbook: Workbook) -> None:
    """The row files of a workbook that was not saved (its rows failed midway)."""
    for sheet in workbook.worksheets:
        writer = getattr(sheet, "_writer", None)
        if writer is None or not isinstance(writer.out, str):
            continue
        # A half-written sheet may refuse to close; its file is removed all the same. Its row
        # generator is closed first, or it would write into the closed file when collected.
        with suppress(Exception):
            if sheet._rows is not None:
                sheet._rows.close()
        with suppress(Exception):
            writer.close()
        with suppress(FileNotFoundError):
            os.remove(writer.out)
        with suppress(ValueError):
            ALL_TEMP_FILES.remove(writer.out)


def write_xlsx_to(
    target: IO[bytes] | str,
    rows: Iterable[Sequence[Any]],
    header: Sequence[Any],
    title: str,
    *,
    max_rows: int | None = None,
) -> int:
    """Write the rows to a file or path; returns the number of data rows written.

    One sheet named `title` holds the header and up to `max_rows` - 1 rows (default: Excel's
    limit, SHEET_MAX_ROWS rows a sheet); the rows that do not fit continue on `title_2`,
    `title_3`, …, each starting with the header again, so the file stays valid however long.
    """
    per_sheet = (max_rows or SHEET_MAX_ROWS) - 1
    workbook = Workbook(write_only=True)
    sheets = 0

    def new_sheet():
        nonlocal sheets
        sheets += 1
        sheet = workbook.create_sheet(title=numbered_sheet_title(title, sheets))
        _start_sheet_writer(sheet)
        cells = _RowCells(sheet)
        sheet.append(cells(header))
        return sheet, cells

    try:
        sheet, cells = new_sheet()
        count = 0
        for row in rows:
            if count and count % per_sheet == 0:
                sheet, cells = new_sheet()
            sheet.append(cells(row))
            count += 1
        workbook.save(target)
    except BaseException:
        _remove_sheet_files(workbook)
        raise
    return count


@dataclass(frozen=True)
class Sheet:
    """One sheet of a small workbook of several tables (e.g. a template with its instructions)."""

    title: str
    header: Sequence[Any]
    rows: Iterable[Sequence[Any]]
    #: Column widths in characters, from the first column on.
    widths: Sequence[int] = ()
    #: Keep the header in view while scrolling.
    freeze_header: bool = True


def write_workbook(sheets: Sequence[Sheet]) -> bytes:
    """Several tables, one sheet each, written like every other file (escaped, text as text).

    Each sheet holds its header and at most SHEET_MAX_ROWS - 1 rows: this is for small workbooks
    such as templates; a long table goes through `write_xlsx_to`, which continues on new sheets.
    """
    workbook = Workbook(write_only=True)
    try:
        for spec in sheets:
            sheet = workbook.create_sheet(title=sheet_title(spec.title))
            if spec.freeze_header:
                sheet.freeze_panes = "A2"
            for column, width in enumerate(spec.widths, start=1):
                sheet.column_dimensions[get_column_letter(column)].width = width
            _start_sheet_writer(sheet)
            cells = _RowCells(sheet)
            if spec.header:
                sheet.append(cells(spec.header))
            for count, row in enumerate(spec.rows, start=1):
                if count >= SHEET_MAX_ROWS:
                    raise ValueError(f"sheet {spec.title!r} has more rows than a sheet holds")
                sheet.append(cells(row))
        buffer = io.BytesIO()
        workbook.save(buffer)
    except BaseException:
        _remove_sheet_files(workbook)
        raise
    return buffer.getvalue()


def write_xlsx(rows: Iterable[Sequence[Any]], header: Sequence[Any], title: str) -> bytes:
    """One sheet named `title`: the header row, then the rows; text escaped and kept as text."""
    buffer = io.BytesIO()
    write_xlsx_to(buffer, rows, header, title)
    return buffer.getvalue()


def _csv_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return (timezone.localtime(value) if timezone.is_aware(value) else value).isoformat()
    if isinstance(value, bool | int | float | Decimal | date | time):
        return value
    return escape_text(str(value))


def write_csv_to(target: IO[str], rows: Iterable[Sequence[Any]], header: Sequence[Any]) -> int:
    """UTF-8 CSV with a byte-order mark (so Excel reads Chinese); same escaping as xlsx."""
    target.write("\ufeff")
    writer = csv.writer(target, lineterminator="\r\n")
    writer.writerow([_csv_value(name) for name in header])
    count = 0
    for row in rows:
        writer.writerow([_csv_value(value) for value in row])
        count += 1
    return count
