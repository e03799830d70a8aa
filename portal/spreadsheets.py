"""Spreadsheet output shared by every list a user downloads: one writer, one set of safety rules.

Rows come in once (any iterable, e.g. a generator) and go out through openpyxl's write-only mode,
so memory stays bounded whatever the number of rows. Every text cell is written as text (number
format `@`), which keeps identifiers such as 学籍号 from turning into numbers or dates, and text
beginning with `= + - @`, a tab or a carriage return gets a leading `'` so that a spreadsheet never
runs it as a formula (CSV/formula injection).
"""

import csv
import io
import re
from collections.abc import Iterable, Sequence
from datetime import date, datetime, time
from decimal import Decimal
from typing import IO, Any

from django.utils import timezone
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
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


def _cell(sheet, value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, bool | int | float | Decimal):
        return value
    if isinstance(value, datetime):
        # Excel has no time zones: write the wall-clock time of the active zone.
        return timezone.localtime(value).replace(tzinfo=None) if timezone.is_aware(value) else value
    if isinstance(value, date | time):
        return value
    cell = WriteOnlyCell(sheet, value=escape_text(str(value)))
    cell.number_format = TEXT_FORMAT
    return cell


def write_xlsx_to(
    target: IO[bytes] | str, rows: Iterable[Sequence[Any]], header: Sequence[Any], title: str
) -> int:
    """Write one sheet to a file or path; returns the number of data rows written."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=sheet_title(title))
    sheet.append([_cell(sheet, name) for name in header])
    count = 0
    for row in rows:
        sheet.append([_cell(sheet, value) for value in row])
        count += 1
    workbook.save(target)
    return count


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
