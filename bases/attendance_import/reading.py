"""Reading an attendance sheet: the portal's guarded reader, then the sheet's own columns."""

import re
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from portal.uploads import DEFAULT_LIMITS, UploadRefused, read_rows
from portal.uploads import sniff_format as _sniff_format
from portal.uploads import upload_too_large as _upload_too_large

from ..errors import BaseError

#: Times in a sheet are Shanghai wall-clock times, whatever the server's time zone.
SHEET_TIME_ZONE = ZoneInfo("Asia/Shanghai")
XLSX, CSV = "xlsx", "csv"
COLUMNS = ("student_number", "session_id", "check_in", "check_out", "note")
REQUIRED_COLUMNS = COLUMNS[:4]
HEADER_ALIASES = {
    "学籍号": "student_number",
    "场次编号": "session_id",
    "场次id": "session_id",
    "签到时间": "check_in",
    "签到": "check_in",
    "签退时间": "check_out",
    "签退": "check_out",
    "备注": "note",
}
TIME_FORMATS = (
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%dT%H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y/%m/%d %H:%M:%S",
    "%Y.%m.%d %H:%M",
    "%Y年%m月%d日 %H:%M",
)


class ImportRefused(UploadRefused, BaseError):
    """A file refused as a whole, before any row is checked; nothing is saved.

    `rows_read` tells how far reading went (the row cap stops early).
    """


def _refused(error: UploadRefused) -> ImportRefused:
    return ImportRefused(
        error.message, code=error.code, params=error.params, rows_read=error.rows_read
    )


def sniff_format(content: bytes) -> str:
    """`xlsx` or `csv`, decided by the bytes; anything else is refused."""
    try:
        return _sniff_format(content)
    except UploadRefused as error:
        raise _refused(error) from None


def upload_too_large(size: int) -> ImportRefused:
    return _refused(_upload_too_large(size))


@dataclass
class SheetRow:
    number: int  # as the spreadsheet numbers it: the header is row 1
    cells: dict[str, Any]


@dataclass
class Sheet:
    rows: list[SheetRow]
    rows_read: int
    missing_columns: list[str] = field(default_factory=list)


def _header_key(value: Any) -> str:
    text = "" if value is None else str(value).strip().lstrip("\ufeff").strip().lower()
    text = re.sub(r"[\s\-]+", "_", text)
    return HEADER_ALIASES.get(text, text)


def read_sheet(content: bytes) -> Sheet:
    """Every data row of the file, read safely; ImportRefused for anything unsafe or too big."""
    try:
        found = read_rows(content, limits=DEFAULT_LIMITS, sheet="attendance")
    except UploadRefused as error:
        raise _refused(error) from None
    keys = [_header_key(v) for v in found.header]
    missing = [c for c in REQUIRED_COLUMNS if c not in keys]
    positions = {key: index for index, key in reversed(list(enumerate(keys))) if key in COLUMNS}
    rows = [
        SheetRow(
            number=number,
            cells={
                key: values[index] if index < len(values) else None
                for key, index in positions.items()
            },
        )
        for number, values in found.rows
    ]
    return Sheet(rows=rows, rows_read=found.rows_read, missing_columns=missing)
