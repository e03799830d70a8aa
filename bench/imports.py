"""Scenario "import": a base's attendance sheet of 20,000 rows, previewed and then imported.

The sheet (xlsx, the template's columns) has one row per student and session: 200 scratch
sessions that ended in the last 20 days, 100 confirmed students each (2,000 rows in all on a data
set smaller than M). Both sides start from the same bytes:

- portal: `attendance_import_preview` (safe reading, every row checked against the database,
  the file and its checked rows kept) then `attendance_import_confirm` (the kept rows checked
  again under the sessions' locks for what could have changed, then every row's two scans and
  its attendance written in bulk), as a coordinator and the worker run them;
- baseline: openpyxl's read-only iteration of the same file, the cells parsed into typed rows,
  and `COPY` of those rows into a temporary table (executemany on SQLite).

Figure: rows per second, from upload to imported. Goal: within 2x the baseline's time (at least
0.5x its rows/s). Correct: the import was accepted whole; one attendance row per sheet row with
exactly its check-in and check-out, two scans per row; the baseline loaded the same rows.
"""

import io
import random
import time
from datetime import timedelta

from django.db import connection
from django.utils import timezone
from openpyxl import Workbook, load_workbook

from bases.attendance_import import attendance_import_confirm, attendance_import_preview
from bases.models import Attendance, AttendanceImport, AttendanceScan
from students.models import Student

from .fixtures import Scratch, past_day, raw_connect, raw_params, raw_sql, students
from .harness import Context, Goal, median_spread, scenario

DAYS = 20
SESSIONS_PER_DAY = 10
PER_SESSION = 100
COLUMNS = ("student_number", "session_id", "check_in", "check_out", "note")


def rows_for(ctx: Context) -> int:
    return DAYS * SESSIONS_PER_DAY * PER_SESSION if ctx.scale in ("M", "L") else 2_000


def build(world: Scratch, total: int) -> tuple[bytes, list[tuple], list]:
    """The sheet's bytes, its rows (number, session, in, out as local naive times), sessions."""
    rng = random.Random(5)
    per_session = min(PER_SESSION, total // (DAYS * SESSIONS_PER_DAY) or 1)
    per_day = SESSIONS_PER_DAY * per_session
    pool = students(max(per_day, 1))
    numbers = dict(Student.objects.filter(pk__in=pool).values_list("pk", "student_number"))
    pool = [pk for pk in pool if pk in numbers]
    rows, confirmations, sessions = [], [], []
    for day_index in range(DAYS):
        day_sessions = world.sessions(
            past_day(2 + day_index), SESSIONS_PER_DAY, capacity=per_session, minutes=90
        )
        rng.shuffle(pool)
        for index, session in enumerate(day_sessions):
            mine = pool[index * per_session : (index + 1) * per_session]
            confirmations.append((session, mine))
            start = session.starts_at.astimezone(world.tz).replace(tzinfo=None)
            end = session.ends_at.astimezone(world.tz).replace(tzinfo=None)
            for student_id in mine:
                check_in = start + timedelta(minutes=rng.randint(-10, 5))
                check_out = end + timedelta(minutes=rng.randint(-5, 10))
                rows.append((numbers[student_id], session.pk, check_in, check_out, "基准测试"))
        sessions += day_sessions
        if len(rows) >= total:
            break
    world.confirm(confirmations)
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("attendance")
    sheet.append(list(COLUMNS))
    for row in rows:
        sheet.append(list(row))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue(), rows, sessions


def portal_import(world: Scratch, content: bytes) -> tuple[float, AttendanceImport, float]:
    started = time.perf_counter()
    preview = attendance_import_preview(
        base=world.base, content=content, original_name="bench.xlsx", uploaded_by=world.coordinator
    )
    previewed = time.perf_counter() - started
    done = attendance_import_confirm(attendance_import=preview, confirmed_by=world.coordinator)
    return time.perf_counter() - started, done, previewed


def baseline_import(params: dict, content: bytes) -> tuple[float, int]:
    raw = raw_connect(params)
    try:
        started = time.perf_counter()
        sheet = load_workbook(io.BytesIO(content), read_only=True)["attendance"]
        rows = []
        for number, session, check_in, check_out, note in sheet.iter_rows(
            min_row=2, values_only=True
        ):
            rows.append((str(number), int(session), check_in, check_out, note or ""))
        if params["vendor"] == "postgresql":
            with raw.cursor() as cursor:
                cursor.execute(
                    "CREATE TEMP TABLE bench_import (student_number text, session_id bigint, "
                    "check_in timestamp, check_out timestamp, note text)"
                )
                with cursor.copy("COPY bench_import FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
                raw.commit()
                seconds = time.perf_counter() - started
                cursor.execute("SELECT COUNT(*) FROM bench_import")
                loaded = cursor.fetchone()[0]
        else:
            raw.execute(
                "CREATE TEMP TABLE bench_import (student_number text, session_id integer, "
                "check_in text, check_out text, note text)"
            )
            raw.execute("BEGIN IMMEDIATE")
            raw.executemany(
                raw_sql(params, "INSERT INTO bench_import VALUES (%s, %s, %s, %s, %s)"),
                [(n, s, str(i), str(o), t) for n, s, i, o, t in rows],
            )
            raw.execute("COMMIT")
            seconds = time.perf_counter() - started
            loaded = raw.execute("SELECT COUNT(*) FROM bench_import").fetchone()[0]
        return seconds, loaded
    finally:
        raw.close()


def stored(sessions, tz) -> list[tuple]:
    return sorted(
        (number, session, start.astimezone(tz).replace(tzinfo=None),
         end.astimezone(tz).replace(tzinfo=None))
        for number, session, start, end in Attendance.objects.filter(
            session__in=sessions
        ).values_list("student__student_number", "session_id", "checked_in_at", "checked_out_at")
    )  # fmt: skip


def clear(world: Scratch, sessions) -> None:
    AttendanceScan.objects.filter(session__in=sessions).delete()
    Attendance.objects.filter(session__in=sessions).delete()
    AttendanceImport.objects.filter(base=world.base).delete()


@scenario(
    "import",
    goal=Goal("within 2× the baseline's time (≥ 0.5× its rows/s)", min_ratio=0.5),
    unit="rows/s",
)
def import_scenario(ctx: Context) -> dict:
    params = raw_params()
    problems, portal_runs, baseline_runs, previews = [], [], [], []
    with Scratch("import") as world:
        world.tz = timezone.get_default_timezone()
        content, rows, sessions = build(world, rows_for(ctx))
        expected = sorted((n, s, i, o) for n, s, i, o, _ in rows)
        for _attempt in range(ctx.repeat):
            seconds, loaded = baseline_import(params, content)
            baseline_runs.append(len(rows) / seconds)
            if loaded != len(rows):
                problems.append(f"baseline loaded {loaded} rows")
            seconds, done, previewed = portal_import(world, content)
            portal_runs.append(len(rows) / seconds)
            previews.append(round(previewed, 2))
            if done.status != "imported" or done.created_count != len(rows):
                problems.append(
                    f"import {done.status}, {done.created_count} rows: {done.errors[:3]}"
                )
            if stored(sessions, world.tz) != expected:
                problems.append("attendance differs from the sheet")
            scans = AttendanceScan.objects.filter(session__in=sessions).count()
            if scans != 2 * len(rows):
                problems.append(f"{scans} scans for {len(rows)} rows")
            clear(world, sessions)
        connection.close()
    portal, portal_spread = median_spread(portal_runs)
    baseline, baseline_spread = median_spread(baseline_runs)
    return {
        "portal": portal,
        "baseline": baseline,
        "correct": not problems,
        "details": {
            "rows": len(rows),
            "file_kb": round(len(content) / 1024),
            "sessions": len(sessions),
            "portal_seconds": [round(len(rows) / r, 2) for r in portal_runs],
            "portal_preview_seconds": previews,
            "baseline_seconds": [round(len(rows) / r, 3) for r in baseline_runs],
            "portal_spread": round(portal_spread, 1),
            "baseline_spread": round(baseline_spread, 1),
            "problems": problems[:10],
            "note": f"{len(rows):,} rows ({len(content) // 1024} KB xlsx) over {len(sessions)} "
            f"sessions; preview + confirm took {len(rows) / portal:.1f} s (preview "
            f"{previews[0]} s) vs {len(rows) / baseline:.2f} s to read and COPY.",
        },
    }
