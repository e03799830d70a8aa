"""Benchmark of the export: rows per second and peak memory of a full xlsx batch.

    .venv/bin/python bench/export_bench.py                       # 200,000 rows, SQLite scratch db
    .venv/bin/python bench/export_bench.py --rows 50000 --format csv
    .venv/bin/python bench/export_bench.py --database-url postgres://postgres@127.0.0.1:5432/export_bench

It fills a scratch database (created if missing, migrated) with N final records in bulk, then runs
one full batch -- the same `export_batch_run` a worker runs: stream, write the file, write the
lines, mark done -- in a fresh child process, and reports wall and CPU time and the peak resident
memory of the export alone (VmHWM, reset just before it; ru_maxrss where /proc is missing).
Never point it at a database you care about: it adds schools, students and records to it.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "sqlite:////tmp/export-bench.sqlite3"
RECORDS_PER_STUDENT = 10
STUDENTS_PER_CLASS = 50
CLASSES_PER_SCHOOL = 8
TITLES = ["图书管理员", "医院分诊引导", "艺术馆参观礼仪督导", "社区垃圾分类宣传", "=SUM(A1)测试"]


def setup_django(database_url: str, media_root: Path) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ["MEDIA_ROOT"] = str(media_root)
    os.environ["EVALUATION_EXPORT_DIR"] = str(media_root / "drop-folder")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings.local")
    sys.path.insert(0, str(BASE_DIR))
    import django

    django.setup()
    from django.conf import settings

    settings.DEBUG = False  # no query log in memory


def ensure_postgres_database(database_url: str) -> None:
    """Create the scratch PostgreSQL database if it does not exist yet."""
    import dj_database_url
    import psycopg

    config = dj_database_url.parse(database_url)
    params = {
        "host": config["HOST"] or "127.0.0.1",
        "port": config["PORT"] or 5432,
        "user": config["USER"],
        "password": config["PASSWORD"] or None,
        "dbname": "postgres",
    }
    with psycopg.connect(**params, autocommit=True) as connection:
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [config["NAME"]]
        ).fetchone()
        if not exists:
            connection.execute(f'CREATE DATABASE "{config["NAME"]}"')


def generate(rows: int) -> float:
    """Bring the number of benchmark records to `rows` with bulk inserts; returns seconds."""
    from django.core.management import call_command
    from django.db import transaction
    from django.utils import timezone

    from districts.models import District
    from evaluation_export.models import ExportBatch
    from students.models import (
        Category,
        OrganiserLevel,
        PracticeRecord,
        RecordedVia,
        RecordStatus,
        School,
        SchoolClass,
        Student,
    )

    call_command("migrate", verbosity=0)
    existing = PracticeRecord.objects.filter(source_ref__startswith="bench:").count()
    if existing == rows:
        return 0.0
    started = time.perf_counter()
    with transaction.atomic():
        ExportBatch.objects.filter(period__startswith="bench-").delete()
        PracticeRecord.objects.filter(source_ref__startswith="bench:").delete()
        students_needed = -(-rows // RECORDS_PER_STUDENT)
        per_school = STUDENTS_PER_CLASS * CLASSES_PER_SCHOOL
        districts = list(District.objects.order_by("sort_order"))
        schools = []
        for index in range(-(-students_needed // per_school)):
            school, _ = School.objects.get_or_create(
                code=f"BENCH{index:04d}",
                defaults={"name": f"基准测试第{index}中学", "district": districts[index % 16]},
            )
            schools.append(school)
        classes = []
        for school in schools:
            for number in range(1, CLASSES_PER_SCHOOL + 1):
                school_class, _ = SchoolClass.objects.get_or_create(
                    school=school, entry_year=2024 + number % 3, number=number
                )
                classes.append(school_class)
        have = set(
            Student.objects.filter(student_number__startswith="BENCH").values_list(
                "student_number", flat=True
            )
        )
        Student.objects.bulk_create(
            [
                Student(
                    student_number=f"BENCH{index:010d}",
                    name=f"学生{index}",
                    school_class=classes[index // STUDENTS_PER_CLASS],
                    personal_code=f"PBENCH{index:010d}",
                )
                for index in range(students_needed)
                if f"BENCH{index:010d}" not in have
            ],
            batch_size=5000,
        )
        students = list(
            Student.objects.filter(student_number__startswith="BENCH")
            .order_by("student_number")
            .values_list("pk", flat=True)[:students_needed]
        )
        categories = list(Category.objects.values_list("pk", flat=True))
        now = timezone.now()
        first = timezone.make_aware(datetime(2025, 9, 6, 9, 0))
        batch = []
        for index in range(rows):
            student, nth = students[index // RECORDS_PER_STUDENT], index % RECORDS_PER_STUDENT
            started_at = first + timedelta(days=7 * nth)
            batch.append(
                PracticeRecord(
                    student_id=student,
                    source_ref=f"bench:{index}",
                    category_id=categories[index % len(categories)],
                    title=TITLES[index % len(TITLES)],
                    organiser_name="上海市基准测试实践基地",
                    organiser_level=OrganiserLevel.CITY,
                    district=districts[index % 16],
                    started_at=started_at,
                    ended_at=started_at + timedelta(hours=3),
                    credited_minutes=180 - index % 60,
                    recorded_via=RecordedVia.SCAN,
                    status=RecordStatus.FINAL,
                    notice_ends_on=(started_at + timedelta(days=8)).date(),
                    confirmed_at=now,
                )
            )
            if len(batch) == 10000:
                PracticeRecord.objects.bulk_create(batch)
                batch = []
        PracticeRecord.objects.bulk_create(batch)
    return time.perf_counter() - started


def _memory_mb(field: str) -> float | None:
    """VmRSS / VmHWM of this process from /proc (Linux), in MB; None elsewhere."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def _reset_peak() -> bool:
    """Start VmHWM afresh (Linux >= 4.0), so the peak measured is the export's alone.

    ru_maxrss cannot do that: Linux keeps it across fork and execve, so a child would report
    the peak of the parent that generated the data.
    """
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def _openpyxl_uses_lxml() -> bool:
    from openpyxl.xml import LXML

    return bool(LXML)


def export_once(fmt: str) -> dict:
    """One full batch, as a worker runs it; measured in this (fresh) process."""
    from django.db import connection

    from evaluation_export.models import BatchKind, ExportBatch
    from evaluation_export.services import export_batch_create, export_batch_run
    from students.models import PracticeRecord, RecordStatus

    ExportBatch.objects.filter(period__startswith="bench-").delete()  # earlier runs' lines
    final = PracticeRecord.objects.filter(status=RecordStatus.FINAL).count()
    before = _memory_mb("VmRSS")
    reset = _reset_peak()
    period = f"bench-{int(time.time() * 1000)}"
    batch, _ = export_batch_create(kind=BatchKind.FULL, fmt=fmt, period=period)
    started, cpu_started = time.perf_counter(), time.process_time()
    batch = export_batch_run(batch_id=batch.pk)
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    peak = _memory_mb("VmHWM") if reset else None
    if peak is None:
        peak = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    size = Path(batch.file.path).stat().st_size
    return {
        "database": connection.vendor,
        "format": fmt,
        "rows": batch.row_count,
        "final_records": final,
        "seconds": round(seconds, 2),
        "rows_per_second": round(batch.row_count / seconds),
        "cpu_seconds": round(cpu_seconds, 2),
        "rows_per_cpu_second": round(batch.row_count / cpu_seconds),
        "load_average": round(os.getloadavg()[0], 1),
        "openpyxl_lxml": _openpyxl_uses_lxml(),
        "peak_rss_mb": peak,
        "rss_before_export_mb": before,
        "file_mb": round(size / 1024 / 1024, 1),
        "status": batch.status,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL)
    parser.add_argument("--format", choices=["xlsx", "csv"], default="xlsx")
    parser.add_argument("--media-root", type=Path)
    parser.add_argument("--export-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    media_root = args.media_root or Path(tempfile.mkdtemp(prefix="export-bench-"))

    if args.export_only:
        setup_django(args.database_url, media_root)
        print(json.dumps(export_once(args.format)))
        return

    if args.database_url.startswith("postgres"):
        ensure_postgres_database(args.database_url)
    setup_django(args.database_url, media_root)
    print(f"Generating {args.rows:,} final records in {args.database_url} ...", flush=True)
    seconds = generate(args.rows)
    print(f"  done in {seconds:.1f} s" if seconds else "  already there", flush=True)
    from django.db import connections

    connections.close_all()
    child = subprocess.run(
        [sys.executable, __file__, "--export-only", "--database-url", args.database_url]
        + ["--format", args.format, "--media-root", str(media_root)],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "LOG_LEVEL": "WARNING"},
    )
    result = json.loads(child.stdout.strip().splitlines()[-1])
    print(
        f"Full {result['format']} export on {result['database']}: {result['rows']:,} rows in "
        f"{result['seconds']} s = {result['rows_per_second']:,} rows/s "
        f"({result['cpu_seconds']} s of CPU = {result['rows_per_cpu_second']:,} rows/CPU-s, "
        f"load {result['load_average']}, lxml {result['openpyxl_lxml']}); peak RSS "
        f"{result['peak_rss_mb']} MB ({result['rss_before_export_mb']} MB before the export); "
        f"file {result['file_mb']} MB"
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
