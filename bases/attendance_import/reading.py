"""Reading a sheet safely: type by content, zip and XML bombs, rows counted while streaming."""

import csv
import io
import re
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import openpyxl
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as safe_fromstring
from django.utils.translation import gettext as _
from openpyxl.reader.excel import ExcelReader
from openpyxl.styles.stylesheet import apply_stylesheet
from openpyxl.worksheet._reader import WorkSheetParser

from ..errors import BaseError
from .limits import (
    MAX_COLUMNS,
    MAX_COMPRESSION_RATIO,
    MAX_CONTENT_TYPES_BYTES,
    MAX_DATA_ROWS,
    MAX_SCANNED_ROWS,
    MAX_UNCOMPRESSED_BYTES,
    MAX_UPLOAD_BYTES,
    MAX_ZIP_MEMBERS,
    RATIO_CHECK_MIN_BYTES,
)

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

# Magic bytes of formats refused outright, with the reason shown.
ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
XLSX_MAIN = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
MACRO_CONTENT_TYPES = (
    "application/vnd.ms-excel.sheet.macroenabled.main+xml",
    "application/vnd.ms-excel.template.macroenabled.main+xml",
    "application/vnd.ms-excel.addin.macroenabled.main+xml",
    "application/vnd.ms-office.vbaproject",
    "application/vnd.ms-excel.sheet.binary.macroenabled.main",
)
CONTENT_TYPES_NS = "{http://schemas.openxmlformats.org/package/2006/content-types}"


class ImportRefused(BaseError):
    """A file refused as a whole, before any row is checked; nothing is saved.

    `rows_read` tells how far reading went (the row cap stops early).
    """

    def __init__(self, message, code: str, params=None, rows_read: int = 0):
        super().__init__(message, code=code, params=params)
        self.rows_read = rows_read


# ------------------------------------------------------------------------------
# Type and bomb checks, by content
# ------------------------------------------------------------------------------
def _other_format(head: bytes) -> str | None:
    """A readable name for a binary format we recognise by its first bytes."""
    signatures = (
        (OLE_MAGIC, _("an old Excel (.xls) or other Office 97 file")),
        (b"%PDF", _("a PDF document")),
        (b"\x89PNG", _("a PNG image")),
        (b"\xff\xd8\xff", _("a JPEG image")),
        (b"GIF8", _("a GIF image")),
        (b"Rar!", _("a RAR archive")),
        (b"7z\xbc\xaf", _("a 7-Zip archive")),
        (b"\x1f\x8b", _("a gzip archive")),
        (b"MZ", _("a Windows program")),
        (b"\x7fELF", _("a program")),
        (b"{\\rtf", _("an RTF document")),
    )
    for magic, name in signatures:
        if head.startswith(magic):
            return str(name)
    return None


def sniff_format(content: bytes) -> str:
    """`xlsx` or `csv`, decided by the bytes; anything else is refused."""
    if not content:
        raise ImportRefused(_("The file is empty."), code="empty_file")
    if content.startswith(ZIP_MAGIC):
        check_xlsx_package(content)
        return XLSX
    other = _other_format(content[:16])
    if other is not None:
        code = "old_excel" if content.startswith(OLE_MAGIC) else "wrong_format"
        raise ImportRefused(
            _(
                "This file is %(kind)s, not an attendance sheet. Save it as an Excel workbook "
                "(.xlsx) or as CSV (UTF-8) and upload it again."
            ),
            code=code,
            params={"kind": other},
        )
    return CSV


def check_xlsx_package(content: bytes) -> None:
    """Refuse zip bombs, macros and non-workbooks from the zip directory, before openpyxl."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
        members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError):
        raise ImportRefused(
            _("The file is damaged or is not an Excel workbook."), code="bad_zip"
        ) from None
    if len(members) > MAX_ZIP_MEMBERS:
        raise ImportRefused(
            _("The workbook has too many parts (%(count)s); an attendance sheet has a few."),
            code="zip_bomb",
            params={"count": len(members)},
        )
    total = sum(member.file_size for member in members)
    if total > MAX_UNCOMPRESSED_BYTES:
        raise ImportRefused(
            _("Unpacked, the workbook would take %(size)s MB; at most %(max)s MB are accepted."),
            code="zip_bomb",
            params={"size": total // (1024 * 1024), "max": MAX_UNCOMPRESSED_BYTES // (1024 * 1024)},
        )
    for member in members:
        if member.flag_bits & 0x1:
            raise ImportRefused(
                _("The workbook is protected with a password; save it without one."),
                code="encrypted",
            )
        if (
            member.file_size >= RATIO_CHECK_MIN_BYTES
            and member.file_size > MAX_COMPRESSION_RATIO * max(member.compress_size, 1)
        ):
            raise ImportRefused(
                _("The workbook is compressed suspiciously tightly (a zip bomb?); refused."),
                code="zip_bomb",
            )
        if member.filename.rsplit("/", 1)[-1].lower() == "vbaproject.bin":
            raise _macro_refusal()
    content_types = next((m for m in members if m.filename == "[Content_Types].xml"), None)
    if content_types is None or content_types.file_size > MAX_CONTENT_TYPES_BYTES:
        raise ImportRefused(
            _("This zip file is not an Excel workbook (.xlsx)."), code="not_spreadsheet"
        )
    try:
        root = safe_fromstring(archive.read(content_types))
    except DefusedXmlException:
        raise _xml_refusal() from None
    except Exception:
        raise ImportRefused(
            _("The file is damaged or is not an Excel workbook."), code="bad_zip"
        ) from None
    types = {
        (node.get("ContentType") or "").strip().lower()
        for node in root.iter()
        if node.tag in (f"{CONTENT_TYPES_NS}Override", f"{CONTENT_TYPES_NS}Default")
    }
    if types & set(MACRO_CONTENT_TYPES):
        raise _macro_refusal()
    if XLSX_MAIN not in types:
        raise ImportRefused(
            _("This file is not an Excel workbook (.xlsx): it may be a Word or other document."),
            code="not_spreadsheet",
        )


def _macro_refusal() -> ImportRefused:
    return ImportRefused(
        _(
            "The workbook contains macros, which are never accepted. Save it as an Excel "
            "workbook (.xlsx) and upload it again."
        ),
        code="macro",
    )


def _xml_refusal() -> ImportRefused:
    return ImportRefused(
        _("The workbook contains unsafe XML (entity declarations); refused."), code="unsafe_xml"
    )


# ------------------------------------------------------------------------------
# Reading rows while counting them
# ------------------------------------------------------------------------------
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


def _is_empty(values: Iterable[Any]) -> bool:
    return all(v is None or (isinstance(v, str) and not v.strip()) for v in values)


def _count_rows(raw_rows: Iterator[tuple[int, tuple]]) -> Sheet:
    """Turn raw rows into SheetRows, refusing at the first row past the caps.

    `rows_read` counts the data rows taken from the file, so a refusal shows where it stopped.
    """
    first = next(raw_rows, None)
    header = first[1] if first is not None else ()
    keys = [_header_key(v) for v in header]
    missing = [c for c in REQUIRED_COLUMNS if c not in keys]
    positions = {key: index for index, key in reversed(list(enumerate(keys))) if key in COLUMNS}
    rows: list[SheetRow] = []
    rows_read = 0
    for number, values in raw_rows:
        rows_read += 1
        if rows_read > MAX_SCANNED_ROWS:
            raise ImportRefused(
                _("The sheet has more than %(max)s rows, counting empty ones; refused."),
                code="too_many_rows",
                params={"max": f"{MAX_SCANNED_ROWS:,}"},
                rows_read=rows_read,
            )
        if _is_empty(values):
            continue
        if len(rows) == MAX_DATA_ROWS:
            raise ImportRefused(
                _(
                    "The sheet has more than %(max)s rows of data; split it into smaller files. "
                    "Nothing was imported."
                ),
                code="too_many_rows",
                params={"max": f"{MAX_DATA_ROWS:,}"},
                rows_read=rows_read,
            )
        cells = {
            key: values[index] if index < len(values) else None for key, index in positions.items()
        }
        rows.append(SheetRow(number=number, cells=cells))
    return Sheet(rows=rows, rows_read=rows_read, missing_columns=missing)


def _xlsx_rows(content: bytes) -> Iterator[tuple[int, tuple]]:
    """(row number, values) of the sheet `attendance`, or the first sheet, streamed.

    `load_workbook(read_only=True)` would parse every sheet in full first when a sheet lacks a
    `<dimension>` element (openpyxl looks for it until `</sheetData>`), so the workbook parts
    are read here with openpyxl's own parsers and only the one sheet is streamed.
    """
    if not openpyxl.DEFUSEDXML:
        raise ImportRefused(
            _("The server cannot read workbooks safely (defusedxml is missing)."),
            code="unsafe_reader",
        )
    reader = ExcelReader(io.BytesIO(content), read_only=True, data_only=True, keep_links=False)
    try:
        reader.read_manifest()
        reader.read_strings()
        reader.read_workbook()
        apply_stylesheet(reader.archive, reader.wb)
        sheets = [
            (sheet.name, rel.target)
            for sheet, rel in reader.parser.find_sheets()
            if "chartsheet" not in rel.Type and rel.target in reader.valid_files
        ]
        if not sheets:
            raise ImportRefused(_("The workbook has no sheet."), code="no_sheet")
        path = dict(sheets).get("attendance", sheets[0][1])
        with reader.archive.open(path) as source:
            parser = WorkSheetParser(
                source,
                reader.shared_strings,
                data_only=True,
                epoch=reader.wb.epoch,
                date_formats=reader.wb._date_formats,
                timedelta_formats=reader.wb._timedelta_formats,
            )
            for number, cells in parser.parse():
                values = [None] * MAX_COLUMNS
                for cell in cells:
                    if 1 <= cell["column"] <= MAX_COLUMNS:
                        values[cell["column"] - 1] = cell["value"]
                yield number, tuple(values)
    finally:
        reader.archive.close()


def _csv_text(content: bytes) -> str:
    if content.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ImportRefused(
            _("The file is saved as UTF-16 text; save it as CSV (UTF-8)."), code="encoding"
        )
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = content.decode(encoding)
        except UnicodeDecodeError:
            continue
        break
    else:
        raise ImportRefused(
            _("The file is neither a workbook nor readable text; save it as CSV (UTF-8)."),
            code="wrong_format",
        )
    if re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f]", text):
        raise ImportRefused(
            _("The file is neither a workbook nor readable text; save it as CSV (UTF-8)."),
            code="wrong_format",
        )
    return text


def _csv_rows(content: bytes) -> Iterator[tuple[int, tuple]]:
    reader = csv.reader(io.StringIO(_csv_text(content), newline=""))
    for number, values in enumerate(reader, 1):
        yield number, tuple(values[:MAX_COLUMNS])


def read_sheet(content: bytes) -> Sheet:
    """Every data row of the file, read safely; ImportRefused for anything unsafe or too big."""
    if len(content) > MAX_UPLOAD_BYTES:
        raise upload_too_large(len(content))
    kind = sniff_format(content)
    rows = _xlsx_rows(content) if kind == XLSX else _csv_rows(content)
    try:
        return _count_rows(rows)
    except ImportRefused:
        raise
    except DefusedXmlException:
        raise _xml_refusal() from None
    except csv.Error as error:
        raise ImportRefused(
            _("The CSV file cannot be read: %(problem)s"),
            code="unreadable",
            params={"problem": str(error)},
        ) from None
    except Exception as error:
        if _caused_by_unsafe_xml(error):
            raise _xml_refusal() from None
        # openpyxl raises many kinds of errors on damaged files; none is worth more detail.
        raise ImportRefused(
            _("The workbook cannot be read; open it in Excel, save it as .xlsx and try again."),
            code="unreadable",
        ) from None
    finally:
        rows.close()


def _caused_by_unsafe_xml(error: BaseException | None) -> bool:
    """openpyxl wraps parser errors in its own; look for defusedxml's refusal in the chain."""
    seen = 0
    while error is not None and seen < 10:
        if isinstance(error, DefusedXmlException):
            return True
        error, seen = error.__cause__ or error.__context__, seen + 1
    return False


def upload_too_large(size: int) -> ImportRefused:
    return ImportRefused(
        _("The file is %(size)s MB; at most %(max)s MB are accepted. Split it into smaller files."),
        code="too_large",
        params={"size": f"{size / (1024 * 1024):.1f}", "max": MAX_UPLOAD_BYTES // (1024 * 1024)},
    )
