"""How fast, and in how little memory, the guarded upload reader refuses hostile files.

    .venv/bin/python bench/hostile_uploads.py

Builds the three files of the hardening issue (a 1 GiB zip bomb of about 1 MB, a sheet of
300,000 rows as xlsx and as CSV, a PNG renamed .xlsx) and hands each to `portal.uploads.read_rows`,
the reader every upload goes through (Django-admin imports, the base's attendance sheets). Prints
for each the time to refuse (best of three), the peak of Python allocations during one more read
(tracemalloc, which slows the read, so it is timed apart) and the message a user sees.
"""

import io
import os
import struct
import sys
import time
import tracemalloc
import zipfile
import zlib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings.test")

import django  # noqa: E402

django.setup()

from django.utils import translation  # noqa: E402
from openpyxl import Workbook  # noqa: E402

from portal.uploads import UploadRefused, read_rows  # noqa: E402

SHEET = "xl/worksheets/sheet1.xml"


def _workbook() -> bytes:
    workbook = Workbook()
    workbook.active.append(["student_number", "name"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _with_sheet(write) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(_workbook()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as target:
        for item in source.infolist():
            if item.filename != SHEET:
                target.writestr(item, source.read(item))
        with target.open(SHEET, "w", force_zip64=True) as sheet:
            write(sheet)
    return out.getvalue()


def zip_bomb() -> bytes:
    def write(sheet):
        sheet.write(b'<?xml version="1.0"?>')
        padding = b" " * (1 << 20)
        for _ in range(1024):
            sheet.write(padding)

    return _with_sheet(write)


def rows_xlsx(count: int) -> bytes:
    ns = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"

    def write(sheet):
        sheet.write(f'<?xml version="1.0"?><worksheet xmlns="{ns}"><sheetData>'.encode())
        sheet.write(b'<row r="1"><c r="A1" t="inlineStr"><is><t>student_number</t></is></c></row>')
        sheet.write(
            "".join(
                f'<row r="{n}"><c r="A{n}" t="inlineStr"><is><t>G{n:012d}</t></is></c></row>'
                for n in range(2, count + 2)
            ).encode()
        )
        sheet.write(b"</sheetData></worksheet>")

    return _with_sheet(write)


def rows_csv(count: int) -> bytes:
    return ("student_number\n" + "".join(f"G{n:012d}\n" for n in range(count))).encode()


def png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00\x00"))
        + chunk(b"IEND", b"")
    )


def _refuse(content: bytes) -> str:
    try:
        read_rows(content)
    except UploadRefused as refused:
        return refused.messages[0]
    return "ACCEPTED (should have been refused)"


def measure(name: str, content: bytes, *, runs: int = 3) -> None:
    """Best of `runs` for the time; then one run under tracemalloc for the peak allocation."""
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        outcome = _refuse(content)
        timings.append(time.perf_counter() - started)
    tracemalloc.start()
    _refuse(content)
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(
        f"{name:<28} {len(content) / 1e6:8.2f} MB  refused in {min(timings) * 1000:8.2f} ms "
        f"(best of {runs})  peak {peak / 1e6:6.2f} MB  · {outcome}"
    )


def main() -> None:
    with translation.override("zh-hans"):
        measure("zip bomb (1 GiB unpacked)", zip_bomb())
        measure("300,000-row xlsx", rows_xlsx(300_000))
        measure("300,000-row CSV", rows_csv(300_000))
        measure("PNG renamed .xlsx", png())


if __name__ == "__main__":
    main()
