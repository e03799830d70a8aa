"""Scenario "export": the full export of final records to xlsx, against COPY + bare openpyxl.

Each side runs once in a fresh child process (`python -m bench.export --child ...`, Django set
up in both so they start from the same memory) that reports its wall time and its peak resident
memory (VmHWM, reset just before the work):

- portal: `evaluation_export.services.export_batch_run` on a new full batch, as a worker runs
  it: rows streamed from the database, the xlsx written by `portal.spreadsheets` (text cells
  escaped and formatted as text, a new sheet past 1,048,575 rows), progress committed every
  1,000 rows, the exported lines written at the end;
- baseline: `COPY (SELECT ...) TO STDOUT` of the same rows with the same cell values computed
  in SQL (local times, credit hours, days, the leading `'` of formula-like text), written with
  a bare openpyxl write-only workbook (plain values, the same sheet split).

At scale M (10 million final records: over an hour a side) both export the same fixed subset,
the 1,100,000 final records of lowest id (two sheets); smaller data sets export everything.
BENCH_EXPORT_ROWS=<n> sets another subset; BENCH_EXPORT_ROWS=all exports every final record.
Correct: the two files hold the same sheets with the same cell values, row for row (the sheet
XML compared with the style attributes left out), and the portal's batch counted every row.
"""

import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
import time
import zipfile
from pathlib import Path

from .export_bench import _memory_mb, _reset_peak

ROOT = Path(__file__).resolve().parent.parent
SUBSET_AT_SCALE = {"M": 1_100_000, "L": 1_100_000}
PERIOD_PREFIX = "bench-"


def _peak_mb() -> float | None:
    return _memory_mb("VmHWM")


def _rss_mb() -> float | None:
    return _memory_mb("VmRSS")


# ------------------------------------------------------------------------------
# The two children
# ------------------------------------------------------------------------------
def child_portal(last_id: int | None, out: Path) -> dict:
    from evaluation_export import exporters
    from evaluation_export.models import BatchKind
    from evaluation_export.services import export_batch_create, export_batch_run

    if last_id is not None:
        everything = exporters.records_for_full
        exporters.RECORDS_FOR_KIND[BatchKind.FULL] = lambda: everything().filter(pk__lte=last_id)
    before = _rss_mb()
    _reset_peak()
    started = time.perf_counter()
    batch, _ = export_batch_create(
        kind=BatchKind.FULL, fmt="xlsx", period=f"{PERIOD_PREFIX}{int(time.time() * 1000)}"
    )
    batch = export_batch_run(batch_id=batch.pk)
    seconds = time.perf_counter() - started
    peak = _peak_mb()
    os.replace(batch.file.path, out)
    return {"seconds": seconds, "peak_mb": peak, "rss_before_mb": before,
            "rows": batch.row_count, "lines": batch.lines.count(), "batch": batch.pk}  # fmt: skip


TEXT_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def _escaped(expression: str, vendor: str) -> str:
    """SQL for a text value with the leading `'` the export puts before formula-like text."""
    char = "chr" if vendor == "postgresql" else "char"
    return (
        f"CASE WHEN substr({expression}, 1, 1) IN ('=', '+', '-', '@', {char}(9), {char}(13)) "
        f"THEN '''' || {expression} ELSE {expression} END"
    )


def baseline_sql(vendor: str, last_id: int | None) -> str:
    subset = f" AND r.id <= {int(last_id)}" if last_id is not None else ""
    text = {
        "record_id": "r.id::text",
        "operation": "'new'",
        "student_number": "s.student_number",
        "student_name": "s.name",
        "school_code": "sc.code",
        "school_name": "sc.name",
        "class_name": "cl.entry_year || '级' || cl.number || '班'",
        "category": "c.code",
        "activity_title": "r.title",
        "organiser_name": "r.organiser_name",
        "organiser_level": "r.organiser_level",
        "district_code": "COALESCE(d.code, '')",
        "recorded_via": "r.recorded_via",
        "recorded_by": "COALESCE(u.username, '')",
    }
    if vendor == "postgresql":
        local = "date_trunc('second', {} AT TIME ZONE 'Asia/Shanghai')"
        days = (
            "(((r.ended_at - interval '1 microsecond') AT TIME ZONE 'Asia/Shanghai')::date"
            " - (r.started_at AT TIME ZONE 'Asia/Shanghai')::date + 1)"
        )
        hours = "round(r.credited_minutes::numeric / p.minutes, 2)"
    else:
        text["record_id"] = "CAST(r.id AS TEXT)"
        local = "datetime({}, '+8 hours')"
        days = (
            "(CAST(julianday(date(r.ended_at, '+8 hours', '-0.001 seconds')) - "
            "julianday(date(r.started_at, '+8 hours')) AS INTEGER) + 1)"
        )
        hours = "p.minutes"  # the Decimal is made in Python on SQLite
    escaped = {name: _escaped(sql, vendor) for name, sql in text.items()}
    columns = [
        escaped["record_id"], "r.version", escaped["operation"], escaped["student_number"],
        escaped["student_name"], escaped["school_code"], escaped["school_name"], "cl.entry_year",
        escaped["class_name"], escaped["category"], escaped["activity_title"],
        escaped["organiser_name"], escaped["organiser_level"], escaped["district_code"],
        local.format("r.started_at"), local.format("r.ended_at"), "r.credited_minutes", hours,
        days, escaped["recorded_via"], escaped["recorded_by"], local.format("r.confirmed_at"),
        "r.notice_ends_on",
    ]  # fmt: skip
    return f"""
SELECT {", ".join(columns)}
FROM students_practicerecord r
JOIN students_student s ON s.id = r.student_id
JOIN students_schoolclass cl ON cl.id = s.school_class_id
JOIN students_school sc ON sc.id = cl.school_id
JOIN students_category c ON c.id = r.category_id
JOIN ({POLICY}) p ON p.entry_year = cl.entry_year
LEFT JOIN districts_district d ON d.id = r.district_id
LEFT JOIN portal_user u ON u.id = r.recorded_by_id
WHERE r.status = 'final'{subset}
ORDER BY r.id"""


# Minutes per credit hour for each entry year: the policy in force, else the earliest one.
POLICY = """
SELECT y.entry_year, COALESCE(
  (SELECT q.minutes_per_credit_hour FROM students_requirementpolicy q
   WHERE q.effective_from_entry_year <= y.entry_year
   ORDER BY q.effective_from_entry_year DESC LIMIT 1),
  (SELECT q.minutes_per_credit_hour FROM students_requirementpolicy q
   ORDER BY q.effective_from_entry_year LIMIT 1)) AS minutes
FROM (SELECT DISTINCT entry_year FROM students_schoolclass) y"""


def child_baseline(last_id: int | None, out: Path) -> dict:
    from datetime import date, datetime
    from decimal import ROUND_HALF_UP, Decimal

    from openpyxl import Workbook

    from evaluation_export.exporters import COLUMNS
    from portal.spreadsheets import SHEET_MAX_ROWS

    from .fixtures import raw_connect, raw_params

    params = raw_params()
    sql = baseline_sql(params["vendor"], last_id)
    raw = raw_connect(params)
    before = _rss_mb()
    _reset_peak()
    started = time.perf_counter()
    workbook = Workbook(write_only=True)
    per_sheet = SHEET_MAX_ROWS - 1
    sheets, count = 0, 0

    def new_sheet():
        nonlocal sheets
        sheets += 1
        sheet = workbook.create_sheet("records" if sheets == 1 else f"records_{sheets}")
        sheet.append(list(COLUMNS))
        return sheet

    sheet = new_sheet()
    if params["vendor"] == "postgresql":
        types = ["text", "int4", "text", "text", "text", "text", "text", "int2", "text", "text",
                 "text", "text", "text", "text", "timestamp", "timestamp", "int4", "numeric",
                 "int4", "text", "text", "timestamp", "date"]  # fmt: skip
        with raw.cursor() as cursor, cursor.copy(f"COPY ({sql}) TO STDOUT") as copy:
            copy.set_types(types)
            for row in copy.rows():
                if count and count % per_sheet == 0:
                    sheet = new_sheet()
                sheet.append(row)
                count += 1
    else:
        cent = Decimal("0.01")
        for row in raw.execute(sql):
            row = list(row)
            for index in (14, 15, 21):
                row[index] = datetime.fromisoformat(row[index]) if row[index] else None
            row[17] = (Decimal(row[16]) / Decimal(row[17])).quantize(cent, ROUND_HALF_UP)
            row[22] = date.fromisoformat(row[22]) if row[22] else None
            if count and count % per_sheet == 0:
                sheet = new_sheet()
            sheet.append(row)
            count += 1
    workbook.save(out)
    seconds = time.perf_counter() - started
    raw.close()
    return {"seconds": seconds, "peak_mb": _peak_mb(), "rss_before_mb": before, "rows": count}


# ------------------------------------------------------------------------------
# Comparing the files
# ------------------------------------------------------------------------------
STYLE = re.compile(rb' s="\d+"')


def sheet_digests(path: Path) -> dict[str, tuple[str, int]]:
    """{sheet name: (sha256 of its XML without style attributes, rows)}, streamed."""
    with zipfile.ZipFile(path) as archive:
        workbook = archive.read("xl/workbook.xml").decode()
        names = re.findall(r'<sheet[^>]* name="([^"]+)"', workbook)
        digests = {}
        for number, name in enumerate(names, start=1):
            digest, rows, tail = hashlib.sha256(), 0, b""
            with archive.open(f"xl/worksheets/sheet{number}.xml") as member:
                while chunk := member.read(1 << 22):
                    data = tail + chunk
                    cut = data.rfind(b">") + 1  # never split an attribute between chunks
                    part, tail = data[:cut], data[cut:]
                    digest.update(STYLE.sub(b"", part))
                    rows += part.count(b"<row ")
            digest.update(STYLE.sub(b"", tail))
            digests[name] = (digest.hexdigest(), rows)
        return digests


def _child_env() -> dict:
    return {**os.environ, "PYTHONPATH": str(ROOT), "LOG_LEVEL": "WARNING"}


def run_child(kind: str, last_id: int | None, out: Path) -> dict:
    command = [sys.executable, "-m", "bench.export", "--child", kind, "--out", str(out)]
    if last_id is not None:
        command += ["--last-id", str(last_id)]
    done = subprocess.run(
        command, cwd=ROOT, env=_child_env(), capture_output=True, text=True, timeout=4 * 3600
    )
    if done.returncode != 0:
        raise RuntimeError(f"export child {kind} failed: {done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def export_subset(asked: str | None, scale: str) -> int | None:
    """How many final records the scenario exports: None for all of them."""
    if asked and asked.strip().lower() == "all":
        return None
    return int(asked or 0) or SUBSET_AT_SCALE.get(scale)


def _scenario():
    from django.db import connection

    from evaluation_export.models import ExportBatch
    from portal.models import AuditLog
    from students.models import PracticeRecord

    from .harness import Context, Goal, scenario

    @scenario(
        "export",
        goal=Goal(
            "≤ 1.25× baseline time and ≤ 1.5× its memory",
            max_ratio=1.25,
            detail_max=(("memory_ratio", 1.5),),
        ),
        unit="s",
    )
    def export(ctx: Context) -> dict:
        import tempfile

        final = PracticeRecord.objects.filter(status="final").order_by("pk")
        subset = export_subset(os.environ.get("BENCH_EXPORT_ROWS"), ctx.scale)
        last_id = None
        if subset is not None and final.count() > subset:
            last_id = final.values_list("pk", flat=True)[subset - 1]
        rows = final.filter(pk__lte=last_id).count() if last_id else final.count()
        audit_from = AuditLog.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        connection.close()
        with tempfile.TemporaryDirectory(prefix="bench-export-") as folder:
            portal_file, baseline_file = Path(folder) / "portal.xlsx", Path(folder) / "bare.xlsx"
            try:
                portal = run_child("portal", last_id, portal_file)
            finally:
                ExportBatch.objects.filter(period__startswith=PERIOD_PREFIX).delete()
                AuditLog.objects.filter(pk__gt=audit_from, action__startswith="export.").delete()
            baseline = run_child("baseline", last_id, baseline_file)
            started = time.perf_counter()
            portal_sheets, baseline_sheets = (
                sheet_digests(portal_file),
                sheet_digests(baseline_file),
            )
            compare_seconds = time.perf_counter() - started
            sizes = (portal_file.stat().st_size, baseline_file.stat().st_size)
        memory_ratio = portal["peak_mb"] / baseline["peak_mb"] if baseline["peak_mb"] else None
        memory_met = memory_ratio is not None and memory_ratio <= 1.5
        correct = (
            portal_sheets == baseline_sheets
            and portal["rows"] == baseline["rows"] == rows
            and portal["lines"] == rows
        )
        subset_text = (
            f"the {rows:,} final records of lowest id (of {final.count():,}; the same subset on "
            "both sides)"
            if last_id
            else f"all {rows:,} final records"
        )
        return {
            "portal": portal["seconds"],
            "baseline": baseline["seconds"],
            "correct": correct,
            "details": {
                "rows": rows,
                "subset_last_id": last_id,
                "sheets": {name: rows for name, (_, rows) in portal_sheets.items()},
                "portal": portal,
                "baseline": baseline,
                "memory_ratio": round(memory_ratio, 2) if memory_ratio else None,
                "memory_goal_met": memory_met,
                "file_mb": [round(size / 2**20, 1) for size in sizes],
                "compare_seconds": round(compare_seconds, 1),
                "portal_rows_per_s": round(rows / portal["seconds"]),
                "baseline_rows_per_s": round(rows / baseline["seconds"]),
                "note": f"one run a side; {subset_text}; peak RSS {portal['peak_mb']} MB vs "
                f"{baseline['peak_mb']} MB ({memory_ratio:.2f}×, goal ≤ 1.5×: "
                f"{'met' if memory_met else 'missed'}); "
                f"{rows / portal['seconds']:,.0f} vs {rows / baseline['seconds']:,.0f} rows/s.",
            },
        }

    return export


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--child", choices=["portal", "baseline"], required=True)
    parser.add_argument("--last-id", type=int)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    import django

    django.setup()
    work = child_portal if args.child == "portal" else child_baseline
    print(json.dumps(work(args.last_id, args.out)))
else:
    export = _scenario()
