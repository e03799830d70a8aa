"""Spreadsheet output shared by every list a user downloads: one writer, one set of safety rules.

Rows come in once (any iterable, e.g. a generator) and go out in bounded memory, whatever their
number; past Excel's 1,048,576 rows a sheet, the rows go on in a next sheet (`records_2`, …)
under the header again. Every text cell is written as text (number format `@`), which keeps
identifiers such as 学籍号 from turning into numbers or dates, and text beginning with
`= + - @`, a tab or a carriage return gets a leading `'` so that a spreadsheet never runs it as
a formula (CSV/formula injection).

The rows of a sheet are serialised here, to the very bytes openpyxl's write-only writer makes of
the same cells (`<c r="A2" s="1" t="inlineStr"><is><t>…</t></is></c>`, numbers and times as
openpyxl formats them; any other type through openpyxl's own cell writer), into a temporary
file; openpyxl writes everything else of the workbook (styles, sheet tops, workbook, manifest)
and the sheet is put together from its top, the rows and its tail when the file is saved. Per
cell that is string work on a value instead of a cell object and an XML element, which is where
openpyxl spends its time on a long table.
"""

import csv
import io
import os
import re
import shutil
import zipfile
from collections.abc import Iterable, Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from typing import IO, Any

from django.utils import timezone
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell._writer import write_cell
from openpyxl.cell.cell import ERROR_CODES, ILLEGAL_CHARACTERS_RE
from openpyxl.compat import safe_string
from openpyxl.utils import get_column_letter
from openpyxl.utils.datetime import to_excel
from openpyxl.worksheet._writer import ALL_TEMP_FILES, WorksheetWriter
from openpyxl.xml.functions import xmlfile

from .tempfiles import portal_tmp_path

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
#: Rows an xlsx sheet can hold (Excel's limit: 2**20), the header row included.
SHEET_MAX_ROWS = 1_048_576
TEXT_FORMAT = "@"
SHEET_TITLE_MAX = 31
# Characters Excel refuses in a sheet title.
SHEET_TITLE_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
#: The most characters a cell holds (Excel's limit); openpyxl cuts longer text there too.
CELL_TEXT_MAX = 32_767
# A column's values whose cell XML is remembered (codes, names, small numbers repeat row after
# row); past that many the column starts afresh, so memory stays bounded.
CELL_CACHE_SIZE = 1024
# Rows serialised before they are written to the sheet's temporary file at once.
ROWS_PER_WRITE = 1000
# What openpyxl writes for a write-only sheet without rows, where the rows go.
EMPTY_SHEET_DATA = b"<sheetData></sheetData>"


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


def _xml_text(text: str) -> str:
    """Character data escaped as ElementTree (openpyxl's serialiser) escapes it."""
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    return text


# A value of each type openpyxl gives a number format of its own, to find that format's style.
_TIME_SAMPLES = {datetime: datetime(2000, 1, 1), date: date(2000, 1, 1)}


class _SheetRows:
    """The rows of one sheet, serialised as openpyxl's write-only writer does, into a file.

    Numbers, dates and empty values go in as they are; aware times as the wall-clock time of the
    active zone (Excel has no time zones); anything else as escaped text in a cell formatted as
    text. The XML of a cell after its reference depends on its value alone, so each column
    remembers it for the values it met last (`CELL_CACHE_SIZE`).
    """

    def __init__(self, sheet) -> None:
        self.sheet = sheet
        self.epoch = sheet.parent.epoch
        self.zone = timezone.get_current_timezone()
        # In the portal's folder (0600), removed by close(); a crash's leftover is swept.
        self.path = portal_tmp_path(prefix="xlsx-rows.", suffix=".xml")
        self.file = open(self.path, "w+b")  # noqa: SIM115 (closed by close())
        self.size = 0
        self.count = 0
        self.pending: list[str] = []
        self.letters: list[str] = []
        self.cells: list[dict[tuple[type, Any], str]] = []
        self.styles: dict[type, str] = {}

    def append(self, row: Sequence[Any]) -> None:
        self.count += 1
        number = str(self.count)
        parts = [f'<row r="{number}">']
        letters, cells = self.letters, self.cells
        for column, value in enumerate(row):
            if value is None:
                continue
            if column >= len(letters):
                self._add_columns(column + 1)
            known = cells[column]
            key = (type(value), value)
            try:
                xml = known.get(key)
            except TypeError:  # an unhashable value, written as text
                key, xml = None, None
            if xml is None:
                xml = self._cell(value)
                if key is not None:
                    if len(known) >= CELL_CACHE_SIZE:
                        known.clear()
                    known[key] = xml
            parts.append(f'<c r="{letters[column]}{number}"{xml}')
        parts.append("</row>")
        self.pending.append("".join(parts))
        if len(self.pending) >= ROWS_PER_WRITE:
            self.flush()

    def _add_columns(self, columns: int) -> None:
        while len(self.letters) < columns:
            self.letters.append(get_column_letter(len(self.letters) + 1))
            self.cells.append({})

    def _cell(self, value: Any) -> str:
        """A cell's XML after `<c r="A1"`."""
        kind = type(value)
        if kind is int or kind is float or kind is Decimal:
            number = safe_string(value)
            if number:  # NaN and infinities are left to openpyxl
                return f' t="n"><v>{number}</v></c>'
            return self._openpyxl_cell(value)
        if kind is datetime:
            if value.tzinfo is not None:
                value = value.astimezone(self.zone).replace(tzinfo=None)
            return f'{self._style(datetime)} t="n"><v>{self._serial(value)}</v></c>'
        if kind is date:
            return f'{self._style(date)} t="n"><v>{self._serial(value)}</v></c>'
        if isinstance(value, bool | int | float | Decimal | date | time):
            if isinstance(value, datetime) and value.tzinfo is not None:
                value = value.astimezone(self.zone).replace(tzinfo=None)
            return self._openpyxl_cell(value)
        return self._text(escape_text(str(value)))

    def _serial(self, moment: date) -> str:
        """A naive date or time as Excel's day number, formatted as openpyxl formats it."""
        return safe_string(to_excel(moment, self.epoch))

    def _text(self, text: str) -> str:
        text = text[:CELL_TEXT_MAX]
        style = self._style(str)
        if not text:
            return f'{style} t="inlineStr" />'
        if text in ERROR_CODES:  # openpyxl keeps these as error values, not text
            return f'{style} t="e"><v>{text}</v></c>'
        stripped = text.strip()
        space = ' xml:space="preserve"' if stripped and stripped != text else ""
        return f'{style} t="inlineStr"><is><t{space}>{_xml_text(text)}</t></is></c>'

    def _style(self, kind: type) -> str:
        """` s="1"`: the style of text (format `@`) or of a date or time, as openpyxl numbers it."""
        attribute = self.styles.get(kind)
        if attribute is None:
            cell = WriteOnlyCell(self.sheet)
            if kind is str:
                cell.number_format = TEXT_FORMAT
            else:
                cell.value = _TIME_SAMPLES[kind]  # openpyxl gives it the type's date format
            attribute = self.styles[kind] = f' s="{cell.style_id}"'
        return attribute

    def _openpyxl_cell(self, value: Any) -> str:
        """A value of a rarer type (a truth value, a time of day…), serialised by openpyxl."""
        cell = WriteOnlyCell(self.sheet, value=value)
        buffer = io.BytesIO()
        with xmlfile(buffer) as xf:
            write_cell(xf, self.sheet, cell, cell.has_style)
        xml = buffer.getvalue().decode()
        start = f'<c r="{cell.coordinate}"'
        if not xml.startswith(start):
            raise ValueError(f"Unexpected cell XML from openpyxl: {xml[:80]!r}")
        return xml[len(start) :]

    def flush(self) -> None:
        if self.pending:
            # As openpyxl encodes: what UTF-8 cannot hold becomes a character reference.
            data = "".join(self.pending).encode("utf-8", "xmlcharrefreplace")
            self.file.write(data)
            self.size += len(data)
            self.pending = []

    def copy_to(self, target: IO[bytes]) -> None:
        self.flush()
        self.file.seek(0)
        shutil.copyfileobj(self.file, target, 1 << 20)

    def close(self) -> None:
        self.file.close()
        with suppress(FileNotFoundError):
            os.remove(self.path)


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


def _member(info: zipfile.ZipInfo) -> zipfile.ZipInfo:
    """A new archive entry like `info` (name, time, compression, mode)."""
    entry = zipfile.ZipInfo(info.filename, date_time=info.date_time)
    entry.compress_type = info.compress_type
    entry.external_attr = info.external_attr
    return entry


def _save(workbook: Workbook, sheets: Sequence[_SheetRows], target: IO[bytes] | str) -> None:
    """openpyxl writes the workbook with its sheets empty; each sheet's rows go in between the
    top and the tail openpyxl wrote for it, compressed as openpyxl compresses."""
    for rows in sheets:
        rows.flush()
        _start_sheet_writer(rows.sheet)
    skeleton = io.BytesIO()
    workbook.save(skeleton)
    by_member = {rows.sheet.path.lstrip("/"): rows for rows in sheets}
    with (
        zipfile.ZipFile(skeleton) as source,
        zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as archive,
    ):
        for info in source.infolist():
            data = source.read(info)
            rows = by_member.get(info.filename)
            if rows is None:
                archive.writestr(_member(info), data)
                continue
            top, found, tail = data.partition(EMPTY_SHEET_DATA)
            if not found:
                raise ValueError(f"openpyxl wrote {info.filename} without an empty sheetData")
            entry = _member(info)
            # Known in advance, so that a sheet past 2 GB gets its ZIP64 header.
            entry.file_size = len(data) + rows.size
            with archive.open(entry, "w") as member:
                member.write(top + b"<sheetData>")
                rows.copy_to(member)
                member.write(b"</sheetData>" + tail)


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
    sheets: list[_SheetRows] = []

    def new_sheet() -> _SheetRows:
        sheet = workbook.create_sheet(title=numbered_sheet_title(title, len(sheets) + 1))
        sheets.append(_SheetRows(sheet))
        sheets[-1].append(header)
        return sheets[-1]

    try:
        sheet = new_sheet()
        count = 0
        for row in rows:
            if count and count % per_sheet == 0:
                sheet = new_sheet()
            sheet.append(row)
            count += 1
        _save(workbook, sheets, target)
    except BaseException:
        _remove_sheet_files(workbook)
        raise
    finally:
        for sheet in sheets:
            sheet.close()
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
    written: list[_SheetRows] = []
    try:
        for spec in sheets:
            sheet = workbook.create_sheet(title=sheet_title(spec.title))
            if spec.freeze_header:
                sheet.freeze_panes = "A2"
            for column, width in enumerate(spec.widths, start=1):
                sheet.column_dimensions[get_column_letter(column)].width = width
            rows = _SheetRows(sheet)
            written.append(rows)
            if spec.header:
                rows.append(spec.header)
            for count, row in enumerate(spec.rows, start=1):
                if count >= SHEET_MAX_ROWS:
                    raise ValueError(f"sheet {spec.title!r} has more rows than a sheet holds")
                rows.append(row)
        buffer = io.BytesIO()
        _save(workbook, written, buffer)
    except BaseException:
        _remove_sheet_files(workbook)
        raise
    finally:
        for rows in written:
            rows.close()
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
