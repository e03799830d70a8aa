"""Reading an uploaded sheet (xlsx or csv) or picture safely, for every upload path of the portal.

Pictures (`read_image`, at the end) are decoded by Pillow within a pixel budget and re-encoded
from the pixels alone; sheets (`read_rows`) are checked as follows.

In this order, and a refusal (`UploadRefused`, one message for people) reads no further:
1. size: at most `UploadLimits.max_bytes`;
2. type by content, never by name: an xlsx is a zip whose `[Content_Types].xml` names a plain
   workbook (macro-enabled, binary and template workbooks are refused, as is any
   `vbaProject.bin`); an old .xls, a PDF, an image, an archive or a program is refused by its
   first bytes; anything else must be UTF-8 (or GB18030, as Chinese Excel saves CSV) text;
3. zip bombs: the zip directory's member count, total unpacked size and per-member compression
   ratio are checked before openpyxl opens the file;
4. XML bombs: openpyxl parses the workbook's parts with defusedxml (`openpyxl.DEFUSEDXML` must
   be True), and the sheet's own parser (`_SheetStream`) refuses entity declarations and
   external references the same way;
5. rows are counted while one sheet is streamed (expat, only the cells' values), and reading
   stops at the first row past the caps. (`load_workbook(read_only=True)` is not used: when a
   sheet has no `<dimension>` element it parses every sheet in full before the first row.)
"""

import csv
import io
import json
import os
import re
import warnings
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from uuid import uuid4
from xml.parsers import expat

import openpyxl
from defusedxml import DefusedXmlException, EntitiesForbidden, ExternalReferenceForbidden
from defusedxml.ElementTree import fromstring as safe_fromstring
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadhandler import MemoryFileUploadHandler, SkipFile
from django.utils.translation import gettext as _
from openpyxl.reader.excel import ExcelReader
from openpyxl.styles.stylesheet import apply_stylesheet
from openpyxl.utils.datetime import from_excel, from_ISO8601
from PIL import Image, ImageOps, UnidentifiedImageError

XLSX, CSV = "xlsx", "csv"
MB = 1024 * 1024

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


@dataclass(frozen=True)
class UploadLimits:
    """How much of an upload is read; each path may tighten or widen them."""

    max_bytes: int = 10 * MB
    #: Rows that are not empty.
    max_data_rows: int = 20_000
    #: Rows read in all, empty ones included: a sheet of a million empty rows is refused too.
    max_scanned_rows: int = 50_000
    #: Only the first columns are read.
    max_columns: int = 20
    max_zip_members: int = 1_000
    max_unpacked_bytes: int = 50 * MB
    max_compression_ratio: int = 100
    #: Members smaller than this are not checked for their ratio (the total still is).
    ratio_check_min_bytes: int = 64 * 1024
    max_content_types_bytes: int = 256 * 1024


DEFAULT_LIMITS = UploadLimits()


class UploadRefused(ValidationError):
    """A file refused as a whole, before any row is checked; `rows_read` tells how far it went."""

    def __init__(self, message, code: str, params=None, rows_read: int = 0):
        super().__init__(message, code=code, params=params)
        self.rows_read = rows_read


@dataclass
class SheetRows:
    """The header and the rows read, each as (row number as the sheet numbers it, values)."""

    header: tuple
    rows: list[tuple[int, tuple]]
    rows_read: int


# ------------------------------------------------------------------------------
# Type and bomb checks, by content
# ------------------------------------------------------------------------------
def _other_format(head: bytes) -> str | None:
    """A readable name for a binary format recognised by its first bytes."""
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


def upload_too_large(size: int, *, limits: UploadLimits = DEFAULT_LIMITS) -> UploadRefused:
    """The refusal of a file of `size` bytes, over `limits.max_bytes`."""
    return UploadRefused(
        _("The file is %(size)s MB; at most %(max)s MB are accepted. Split it into smaller files."),
        code="too_large",
        params={"size": f"{size / MB:.1f}", "max": limits.max_bytes // MB},
    )


def sniff_format(content: bytes, *, limits: UploadLimits = DEFAULT_LIMITS) -> str:
    """`xlsx` or `csv`, decided by the bytes; anything else is refused."""
    if not content:
        raise UploadRefused(_("The file is empty."), code="empty_file")
    if content.startswith(ZIP_MAGIC):
        check_xlsx_package(content, limits=limits)
        return XLSX
    other = _other_format(content[:16])
    if other is not None:
        code = "old_excel" if content.startswith(OLE_MAGIC) else "wrong_format"
        raise UploadRefused(
            _(
                "This file is %(kind)s, not a spreadsheet. Save it as an Excel workbook "
                "(.xlsx) or as CSV (UTF-8) and upload it again."
            ),
            code=code,
            params={"kind": other},
        )
    return CSV


def _bad_zip() -> UploadRefused:
    return UploadRefused(_("The file is damaged or is not an Excel workbook."), code="bad_zip")


def check_xlsx_package(content: bytes, *, limits: UploadLimits = DEFAULT_LIMITS) -> None:
    """Refuse zip bombs, macros and non-workbooks from the zip directory, before openpyxl."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
        members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError):
        raise _bad_zip() from None
    if len(members) > limits.max_zip_members:
        raise UploadRefused(
            _("The workbook has too many parts (%(count)s); a sheet to import has a few."),
            code="zip_bomb",
            params={"count": len(members)},
        )
    total = sum(member.file_size for member in members)
    if total > limits.max_unpacked_bytes:
        raise UploadRefused(
            _("Unpacked, the workbook would take %(size)s MB; at most %(max)s MB are accepted."),
            code="zip_bomb",
            params={"size": total // MB, "max": limits.max_unpacked_bytes // MB},
        )
    for member in members:
        if member.flag_bits & 0x1:
            raise UploadRefused(
                _("The workbook is protected with a password; save it without one."),
                code="encrypted",
            )
        if (
            member.file_size >= limits.ratio_check_min_bytes
            and member.file_size > limits.max_compression_ratio * max(member.compress_size, 1)
        ):
            raise UploadRefused(
                _("The workbook is compressed suspiciously tightly (a zip bomb?); refused."),
                code="zip_bomb",
            )
        if member.filename.rsplit("/", 1)[-1].lower() == "vbaproject.bin":
            raise _macro_refusal()
    content_types = next((m for m in members if m.filename == "[Content_Types].xml"), None)
    if content_types is None or content_types.file_size > limits.max_content_types_bytes:
        raise UploadRefused(
            _("This zip file is not an Excel workbook (.xlsx)."), code="not_spreadsheet"
        )
    try:
        root = safe_fromstring(archive.read(content_types))
    except DefusedXmlException:
        raise _xml_refusal() from None
    except Exception:
        raise _bad_zip() from None
    types = {
        (node.get("ContentType") or "").strip().lower()
        for node in root.iter()
        if node.tag in (f"{CONTENT_TYPES_NS}Override", f"{CONTENT_TYPES_NS}Default")
    }
    if types & set(MACRO_CONTENT_TYPES):
        raise _macro_refusal()
    if XLSX_MAIN not in types:
        raise UploadRefused(
            _("This file is not an Excel workbook (.xlsx): it may be a Word or other document."),
            code="not_spreadsheet",
        )


def _macro_refusal() -> UploadRefused:
    return UploadRefused(
        _(
            "The workbook contains macros, which are never accepted. Save it as an Excel "
            "workbook (.xlsx) and upload it again."
        ),
        code="macro",
    )


def _xml_refusal() -> UploadRefused:
    return UploadRefused(
        _("The workbook contains unsafe XML (entity declarations); refused."), code="unsafe_xml"
    )


# ------------------------------------------------------------------------------
# Streaming rows
# ------------------------------------------------------------------------------
def _xlsx_rows(content: bytes, *, sheet: str | None, columns: int) -> Iterator[tuple[int, tuple]]:
    """(row number, values) of the sheet named `sheet`, or the first sheet, streamed.

    The workbook parts (strings, styles, the list of sheets) are read with openpyxl's own
    parsers and only the one sheet is streamed (`_SheetStream`), because
    `load_workbook(read_only=True)` may parse every sheet in full first.
    """
    if not openpyxl.DEFUSEDXML:
        raise UploadRefused(
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
            (found.name, rel.target)
            for found, rel in reader.parser.find_sheets()
            if "chartsheet" not in rel.Type and rel.target in reader.valid_files
        ]
        if not sheets:
            raise UploadRefused(_("The workbook has no sheet."), code="no_sheet")
        path = dict(sheets).get(sheet, sheets[0][1])
        stream = _SheetStream(
            shared_strings=reader.shared_strings,
            epoch=reader.wb.epoch,
            date_formats=reader.wb._date_formats,
            timedelta_formats=reader.wb._timedelta_formats,
            columns=columns,
        )
        with reader.archive.open(path) as source:
            while chunk := source.read(SHEET_CHUNK):
                yield from stream.feed(chunk)
            yield from stream.feed(b"", final=True)
    finally:
        reader.archive.close()


SHEET_CHUNK = 256 * 1024
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main "
_ROW, _CELL, _VALUE, _INLINE, _TEXT, _PHONETIC = (
    _MAIN + tag for tag in ("row", "c", "v", "is", "t", "rPh")
)
_DIGITS = "0123456789"
_COLUMN_INDEX: dict[str, int] = {}  # "A" -> 1, as met


def _column_index(coordinate: str) -> int:
    letters = coordinate.rstrip(_DIGITS)
    index = _COLUMN_INDEX.get(letters)
    if index is None:
        if not letters.isascii() or not letters.isalpha() or len(letters) > 3:
            raise ValueError(f"{coordinate} is not a cell reference")
        index = 0
        for letter in letters.upper():
            index = index * 26 + ord(letter) - 64
        _COLUMN_INDEX[letters] = index
    return index


def _row_number(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        value = float(text)
        if not value.is_integer():
            raise ValueError(f"{text} is not a valid row number") from None
        return int(value)


def _entity_declared(name, *_args):
    raise EntitiesForbidden(name, None, None, None, None, None)


def _external_reference(context, base, sysid, pubid):
    raise ExternalReferenceForbidden(context, base, sysid, pubid)


class _SheetStream:
    """A worksheet's rows as (row number, values), parsed by expat as the bytes come.

    The values are those openpyxl reads with data only (a formula's cached value): numbers,
    dates (a number in a date style, by the workbook's epoch), shared and inline strings,
    booleans, errors as their text. Only the cells' values are looked at, in one pass with one
    small handler per element, several times faster than openpyxl's sheet parser (an element
    tree and a dictionary per cell). Entity declarations and external references are refused
    as defusedxml refuses them (`DefusedXmlException`), before anything is expanded.
    """

    def __init__(self, *, shared_strings, epoch, date_formats, timedelta_formats, columns: int):
        self.shared_strings = shared_strings
        self.epoch = epoch
        self.date_formats = date_formats
        self.timedelta_formats = timedelta_formats
        self.columns = columns
        self.rows: list[tuple[int, tuple]] = []
        self.row_number = 0
        self.column = 0
        self.values: list | None = None
        self.kind: str = "n"
        self.style: str | None = None
        self.text: list[str] | None = None  # the characters being collected
        self.value: str | None = None
        self.inline: list[str] | None = None
        self.phonetic = 0
        parser = expat.ParserCreate(namespace_separator=" ")
        parser.buffer_text = True
        parser.buffer_size = 64 * 1024
        parser.EntityDeclHandler = _entity_declared
        parser.UnparsedEntityDeclHandler = _entity_declared
        parser.ExternalEntityRefHandler = _external_reference
        parser.StartElementHandler = self._start
        parser.EndElementHandler = self._end
        parser.CharacterDataHandler = self._characters
        self.parser = parser

    def feed(self, chunk: bytes, *, final: bool = False) -> list[tuple[int, tuple]]:
        self.parser.Parse(chunk, final)
        rows, self.rows = self.rows, []
        return rows

    def _characters(self, data: str) -> None:
        if self.text is not None:
            self.text.append(data)

    def _start(self, tag: str, attrs: dict) -> None:
        if tag == _CELL:
            self.kind = attrs.get("t", "n")
            self.style = attrs.get("s")
            coordinate = attrs.get("r")
            self.column = _column_index(coordinate) if coordinate else self.column + 1
            self.value = self.inline = None
        elif tag == _VALUE or (tag == _TEXT and self.inline is not None and not self.phonetic):
            self.text = []
        elif tag == _ROW:
            number = attrs.get("r")
            self.row_number = _row_number(number) if number else self.row_number + 1
            self.column = 0
            self.values = [None] * self.columns
        elif tag == _INLINE:
            self.inline = []
        elif tag == _PHONETIC:
            self.phonetic += 1

    def _end(self, tag: str) -> None:
        if tag == _VALUE:
            if self.text is not None:
                self.value = "".join(self.text)
            self.text = None
        elif tag == _TEXT:
            if self.text is not None and self.inline is not None:
                self.inline.append("".join(self.text))
            self.text = None
        elif tag == _CELL:
            if self.values is not None and 1 <= self.column <= self.columns:
                self.values[self.column - 1] = self._cell_value()
        elif tag == _ROW:
            if self.values is not None:
                self.rows.append((self.row_number, tuple(self.values)))
            self.values = None
        elif tag == _PHONETIC:
            self.phonetic -= 1

    def _cell_value(self):
        """The cell's value as openpyxl reads it (`WorkSheetParser.parse_cell`, data only)."""
        kind, value = self.kind, self.value or None
        if kind == "inlineStr":
            return "".join(self.inline) if self.inline is not None else None
        if value is None:
            return None
        if kind == "n":
            number = float(value) if ("." in value or "E" in value or "e" in value) else int(value)
            style = int(self.style) if self.style else 0
            if style in self.date_formats:
                try:
                    return from_excel(number, self.epoch, timedelta=style in self.timedelta_formats)
                except (OverflowError, ValueError):
                    return "#VALUE!"
            return number
        if kind == "s":
            return self.shared_strings[int(value)]
        if kind == "b":
            return bool(int(value))
        if kind == "d":
            return from_ISO8601(value)
        return value


def _unreadable_text() -> UploadRefused:
    return UploadRefused(
        _("The file is neither a workbook nor readable text; save it as CSV (UTF-8)."),
        code="wrong_format",
    )


def _csv_text(content: bytes) -> str:
    if content.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise UploadRefused(
            _("The file is saved as UTF-16 text; save it as CSV (UTF-8)."), code="encoding"
        )
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = content.decode(encoding)
        except UnicodeDecodeError:
            continue
        break
    else:
        raise _unreadable_text()
    if re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f]", text):
        raise _unreadable_text()
    return text


def _csv_rows(content: bytes, *, columns: int) -> Iterator[tuple[int, tuple]]:
    reader = csv.reader(io.StringIO(_csv_text(content), newline=""))
    for number, values in enumerate(reader, 1):
        yield number, tuple(values[:columns])


def is_empty_row(values: Iterable) -> bool:
    """True when no cell of the row holds anything but blanks."""
    return all(v is None or (isinstance(v, str) and not v.strip()) for v in values)


def _counted(
    raw_rows: Iterator[tuple[int, tuple]], limits: UploadLimits, *, keep_empty: bool
) -> SheetRows:
    """The header and the rows, refusing at the first row past the caps.

    `rows_read` counts the rows taken from the file after the header, so a refusal shows where
    it stopped. Empty rows count against `max_scanned_rows` only, and are kept if `keep_empty`.
    """
    first = next(raw_rows, None)
    header = first[1] if first is not None else ()
    rows: list[tuple[int, tuple]] = []
    rows_read = data_rows = 0
    for number, values in raw_rows:
        rows_read += 1
        if rows_read > limits.max_scanned_rows:
            raise UploadRefused(
                _("The sheet has more than %(max)s rows, counting empty ones; refused."),
                code="too_many_rows",
                params={"max": f"{limits.max_scanned_rows:,}"},
                rows_read=rows_read,
            )
        if is_empty_row(values):
            if keep_empty:
                rows.append((number, values))
            continue
        data_rows += 1
        if data_rows > limits.max_data_rows:
            raise UploadRefused(
                _(
                    "The sheet has more than %(max)s rows of data; split it into smaller files. "
                    "Nothing was imported."
                ),
                code="too_many_rows",
                params={"max": f"{limits.max_data_rows:,}"},
                rows_read=rows_read,
            )
        rows.append((number, values))
    return SheetRows(header=header, rows=rows, rows_read=rows_read)


def read_rows(
    content: bytes,
    *,
    limits: UploadLimits = DEFAULT_LIMITS,
    sheet: str | None = None,
    keep_empty: bool = False,
) -> SheetRows:
    """The header and every row of the file, read safely; UploadRefused otherwise.

    `sheet` names the workbook's sheet to read (the first one when it is absent); empty rows
    are left out unless `keep_empty`.
    """
    if len(content) > limits.max_bytes:
        raise upload_too_large(len(content), limits=limits)
    kind = sniff_format(content, limits=limits)
    if kind == XLSX:
        raw = _xlsx_rows(content, sheet=sheet, columns=limits.max_columns)
    else:
        raw = _csv_rows(content, columns=limits.max_columns)
    try:
        return _counted(raw, limits, keep_empty=keep_empty)
    except UploadRefused:
        raise
    except DefusedXmlException:
        raise _xml_refusal() from None
    except csv.Error as error:
        raise UploadRefused(
            _("The CSV file cannot be read: %(problem)s"),
            code="unreadable",
            params={"problem": str(error)},
        ) from None
    except Exception as error:
        if _caused_by_unsafe_xml(error):
            raise _xml_refusal() from None
        # openpyxl raises many kinds of errors on damaged files; none is worth more detail.
        raise UploadRefused(
            _("The workbook cannot be read; open it in Excel, save it as .xlsx and try again."),
            code="unreadable",
        ) from None
    finally:
        raw.close()


def _caused_by_unsafe_xml(error: BaseException | None) -> bool:
    """openpyxl wraps parser errors in its own; look for defusedxml's refusal in the chain."""
    seen = 0
    while error is not None and seen < 10:
        if isinstance(error, DefusedXmlException):
            return True
        error, seen = error.__cause__ or error.__context__, seen + 1
    return False


# ------------------------------------------------------------------------------
# Pictures (bases and posts)
# ------------------------------------------------------------------------------
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
JPEG_MAGIC = b"\xff\xd8\xff"


@dataclass(frozen=True)
class ImageLimits:
    """How large a picture may be: bytes as sent, pixels decoded, and width as stored."""

    max_bytes: int = 5 * MB
    #: Decoded pixels (width × height): a small file may claim a huge canvas (a pixel bomb).
    max_pixels: int = 40_000_000
    #: Wider pictures are scaled down to this width.
    max_width: int = 1200

    @classmethod
    def from_settings(cls) -> "ImageLimits":
        return cls(
            max_bytes=settings.IMAGE_UPLOAD_MAX_BYTES,
            max_pixels=settings.IMAGE_MAX_PIXELS,
            max_width=settings.IMAGE_MAX_WIDTH,
        )


@dataclass(frozen=True)
class CleanImage:
    """A picture re-encoded from its pixels: no EXIF, GPS, comments or colour profile."""

    content: bytes
    extension: str  # "jpg" or "png"
    width: int
    height: int

    def as_file(self):
        """A file for an ImageField, under a random name (the sender's name is not kept)."""
        return ContentFile(self.content, name=f"{uuid4().hex}.{self.extension}")


def read_image_upload(upload, *, limits: ImageLimits | None = None) -> CleanImage:
    """`read_image` of an uploaded file, refusing one too large before reading it."""
    limits = limits or ImageLimits.from_settings()
    if upload.size > limits.max_bytes:  # refused by its size, without reading it
        raise _picture_too_large(upload.size, limits)
    return read_image(upload.read(limits.max_bytes + 1), limits=limits)


#: File name endings that agree with each kind of picture read_image keeps.
PICTURE_SUFFIXES = {"jpg": (".jpg", ".jpeg", ".jfif"), "png": (".png",)}


def check_image_name(name: str, image: CleanImage) -> None:
    """Refuse a picture whose file name claims another type than its content (a PNG named
    .jpg): where the name matters to the sender, a mismatch is a mistake or a disguise. A name
    without a suffix says nothing and passes."""
    suffix = os.path.splitext(name or "")[1].lower()
    if not suffix or suffix in PICTURE_SUFFIXES[image.extension]:
        return
    raise UploadRefused(
        _(
            "The file is named %(name)s but holds a %(kind)s picture; save it again as JPEG or "
            "PNG with the matching name and try again."
        ),
        code="name_mismatch",
        params={
            "name": os.path.basename(name),
            "kind": "JPEG" if image.extension == "jpg" else "PNG",
        },
    )


def _not_a_picture(head: bytes) -> UploadRefused:
    other = _other_format(head[:16])
    if other is not None:
        return UploadRefused(
            _("This file is %(kind)s, not a JPEG or PNG picture."),
            code="not_image",
            params={"kind": other},
        )
    return UploadRefused(
        _("This file is not a JPEG or PNG picture; save the picture as JPEG or PNG and try again."),
        code="not_image",
    )


def _picture_too_large(size: int, limits: ImageLimits) -> UploadRefused:
    return UploadRefused(
        _("The picture is %(size)s MB; at most %(max)s MB are accepted."),
        code="too_large",
        params={"size": f"{size / MB:.1f}", "max": f"{limits.max_bytes / MB:g}"},
    )


def read_image(content: bytes, *, limits: ImageLimits | None = None) -> CleanImage:
    """The picture re-encoded (JPEG stays JPEG, PNG stays PNG), or UploadRefused.

    In this order: size; type by the first bytes (JPEG or PNG only); the pixel count read from
    the header, before any pixel is decoded; decoding; turning by the EXIF orientation; scaling
    down to `max_width`; saving anew, which leaves every metadata block behind.
    """
    limits = limits or ImageLimits.from_settings()
    if not content:
        raise UploadRefused(_("The file is empty."), code="empty_file")
    if len(content) > limits.max_bytes:
        raise _picture_too_large(len(content), limits)
    if content.startswith(JPEG_MAGIC):
        kind = "JPEG"
    elif content.startswith(PNG_MAGIC):
        kind = "PNG"
    else:
        raise _not_a_picture(content)
    damaged = UploadRefused(
        _("The picture is damaged and cannot be read; save it again and retry."),
        code="unreadable",
    )
    try:
        with warnings.catch_warnings():
            # Pillow warns past its own budget; ours, below, is lower and refuses instead.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            source = Image.open(io.BytesIO(content), formats=[kind])
        with source:
            width, height = source.size
            if width * height > limits.max_pixels:
                raise UploadRefused(
                    _(
                        "The picture is %(width)s × %(height)s pixels, too large to open "
                        "safely; make it smaller and try again."
                    ),
                    code="too_many_pixels",
                    params={"width": width, "height": height},
                )
            source.load()
            picture = ImageOps.exif_transpose(source)
    except UploadRefused:
        raise
    except Image.DecompressionBombError:
        raise UploadRefused(
            _("The picture is too large to open safely; make it smaller and try again."),
            code="too_many_pixels",
        ) from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        raise damaged from None
    if kind == "JPEG":
        picture = picture.convert("RGB")
    elif picture.mode not in ("RGB", "RGBA"):
        has_alpha = picture.mode in ("LA", "PA") or "transparency" in picture.info
        picture = picture.convert("RGBA" if has_alpha else "RGB")
    if picture.width > limits.max_width:
        height = max(1, round(picture.height * limits.max_width / picture.width))
        picture = picture.resize((limits.max_width, height), Image.LANCZOS)
    # A new image from the pixels alone: nothing of the original's info travels with it.
    clean = Image.new(picture.mode, picture.size)
    clean.paste(picture)
    out = io.BytesIO()
    if kind == "JPEG":
        clean.save(out, "JPEG", quality=85, optimize=True, progressive=True)
    else:
        clean.save(out, "PNG", optimize=True)
    return CleanImage(
        content=out.getvalue(),
        extension="jpg" if kind == "JPEG" else "png",
        width=clean.width,
        height=clean.height,
    )


# Receiving the file
# ------------------------------------------------------------------------------
#: Room for the multipart envelope and the other fields around the file.
# ------------------------------------------------------------------------------
# JSON documents (a record package)
# ------------------------------------------------------------------------------
def read_json(content: bytes, *, max_bytes: int) -> object:
    """A JSON document of at most `max_bytes`, UTF-8 only; one message for people if not."""
    if len(content) > max_bytes:
        raise UploadRefused(
            _("The file is too large: at most %(mb)s MB.") % {"mb": round(max_bytes / MB, 1)},
            code="too_large",
        )
    other = _other_format(content[:16])
    if other is not None:
        raise UploadRefused(
            _("This is not a JSON file but %(kind)s.") % {"kind": other}, code="wrong_type"
        )
    try:
        text = content.decode("utf-8")
        return json.loads(text)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise UploadRefused(
            _("The file is not a readable JSON document (UTF-8)."), code="not_json"
        ) from None


def read_json_upload(upload, *, max_bytes: int) -> tuple[bytes, object]:
    """The bytes and the document of an uploaded JSON file, refused by size before reading."""
    if upload.size > max_bytes:
        raise UploadRefused(
            _("The file is too large: at most %(mb)s MB.") % {"mb": round(max_bytes / MB, 1)},
            code="too_large",
        )
    content = upload.read(max_bytes + 1)
    return content, read_json(content, max_bytes=max_bytes)


MULTIPART_ALLOWANCE = 64 * 1024


class InMemoryUpload(MemoryFileUploadHandler):
    """Keep an uploaded sheet in memory (it is at most `max_bytes`) and drop it once it grows
    past that; a view checks Content-Length first, then installs this handler."""

    max_bytes = DEFAULT_LIMITS.max_bytes
    too_large = False

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        self.activated = True

    def receive_data_chunk(self, raw_data, start):
        if start + len(raw_data) > self.max_bytes:
            self.too_large = True
            raise SkipFile
        return super().receive_data_chunk(raw_data, start)
