"""Scenario "apply rush": 500 students apply at the same moment for one session of 30 seats while
1,000 others apply for 20 other sessions of the same kind (50 applicants for 30 seats each).

Both sides run the same 1,500 calls, shuffled the same way, on the same 32 database connections
(4 forked processes x 8 threads; on SQLite, a single-writer database, 4: 2 x 2), released
together by a barrier:

- portal: `application_apply_or_waitlist` (locks the student row, then the session row, checks
  the rules, takes a seat or joins the waiting list, writes the application and its audit entry);
- baseline: psycopg (sqlite3 on SQLite) straight to the database, one transaction per call: the
  conditional `UPDATE bases_session SET taken = taken + 1 WHERE id = %s AND taken < capacity` and
  the `INSERT` of the application, confirmed or waitlisted by the update's row count.

Figures: committed applications per second (from the first call's start to the last call's end).
Correct: no session over-booked (confirmed <= capacity, `taken` = confirmed) on either side, and
both sides confirmed and waitlisted the same number per session, with no call failing.
"""

import multiprocessing
import random
import threading
import time
from collections import Counter
from datetime import timedelta
from math import prod

from django.db import connection, connections
from django.utils import timezone

from .fixtures import Scratch, db_value, future_day, raw_connect, raw_params, raw_sql, students
from .harness import Context, Goal, median_spread, scenario

HOT_APPLICANTS = 500
CAPACITY = 30
BACKGROUND_SESSIONS = 20
BACKGROUND_APPLICANTS = 50  # per background session
PROCESSES = 4
THREADS = 8  # per process: 32 connections in all
# SQLite has one writer at a time: 32 connections there only queue on its lock, and on a busy
# machine a waiter can starve past the busy timeout ("database is locked"). 4 are enough.
SQLITE_PROCESSES, SQLITE_THREADS = 2, 2


def _workers(vendor: str) -> tuple[int, int]:
    return (PROCESSES, THREADS) if vendor == "postgresql" else (SQLITE_PROCESSES, SQLITE_THREADS)


def _portal_call(student_id: int, session_id: int) -> str:
    from bases.errors import BaseError
    from bases.models import Session
    from bases.services.applications import application_apply_or_waitlist
    from students.models import Student

    try:
        application = application_apply_or_waitlist(
            student=Student(pk=student_id), session=Session(pk=session_id)
        )
    except BaseError as error:
        return f"refused:{error.code}"
    return application.status


def _baseline_call(raw, params: dict, student_id: int, session_id: int) -> str:
    now = db_value(params, timezone.now())
    update = raw_sql(
        params, "UPDATE bases_session SET taken = taken + 1 WHERE id = %s AND taken < capacity"
    )
    insert = raw_sql(
        params,
        "INSERT INTO bases_application (student_id, session_id, status, created_at, updated_at) "
        "VALUES (%s, %s, %s, %s, %s)",
    )
    if params["vendor"] == "postgresql":
        with raw.cursor() as cursor:
            cursor.execute(update, (session_id,))
            status = "confirmed" if cursor.rowcount == 1 else "waitlisted"
            cursor.execute(insert, (student_id, session_id, status, now, now))
        raw.commit()
        return status
    raw.execute("BEGIN IMMEDIATE")
    try:
        status = "confirmed" if raw.execute(update, (session_id,)).rowcount == 1 else "waitlisted"
        raw.execute(insert, (student_id, session_id, status, now, now))
    except Exception:
        raw.execute("ROLLBACK")
        raise
    raw.execute("COMMIT")
    return status


def _child(kind: str, params: dict, slices: list[list], barrier, results) -> None:
    """One forked process: a thread per slice of calls, each with its own connection."""
    collected: list[tuple[float, float, str]] = []
    lock = threading.Lock()

    def work(calls: list) -> None:
        mine = []
        raw = None
        try:
            if kind == "portal":
                connection.ensure_connection()
            else:
                raw = raw_connect(params)
            barrier.wait(timeout=120)
            for student_id, session_id in calls:
                started = time.perf_counter()
                try:
                    if kind == "portal":
                        outcome = _portal_call(student_id, session_id)
                    else:
                        outcome = _baseline_call(raw, params, student_id, session_id)
                except Exception as error:  # reported: a failed call makes the run incorrect
                    outcome = f"error:{type(error).__name__}: {str(error)[:200]}"
                    if raw is not None and params["vendor"] == "postgresql":
                        raw.rollback()
                mine.append((started, time.perf_counter(), outcome))
        finally:
            if raw is not None:
                raw.close()
            connections.close_all()
            with lock:
                collected.extend(mine)

    threads = [threading.Thread(target=work, args=(calls,)) for calls in slices]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    results.put(collected)


def rush(kind: str, calls: list[tuple[int, int]]) -> dict:
    """Run the calls on PROCESSES x THREADS connections released together; timings, outcomes."""
    params = raw_params()
    processes, threads = _workers(params["vendor"])
    workers = processes * threads
    slices = [calls[index::workers] for index in range(workers)]
    connections.close_all()  # no connection crosses the fork
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(workers)
    results = context.Queue()
    children = [
        context.Process(
            target=_child,
            args=(kind, params, slices[p * threads : (p + 1) * threads], barrier, results),
        )
        for p in range(processes)
    ]
    for child in children:
        child.start()
    timings = []
    for _ in children:
        timings.extend(results.get(timeout=600))
    for child in children:
        child.join(timeout=60)
    started = min(t[0] for t in timings)
    ended = max(t[1] for t in timings)
    outcomes = Counter(t[2] for t in timings)
    committed = outcomes["confirmed"] + outcomes["waitlisted"]
    latencies = sorted((t[1] - t[0]) * 1000 for t in timings)
    return {
        "seconds": ended - started,
        "committed": committed,
        "per_second": committed / (ended - started),
        "outcomes": dict(outcomes),
        "p95_ms": latencies[int(len(latencies) * 0.95) - 1] if latencies else 0.0,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] if latencies else 0.0,
    }


def seats(session_ids: list[int]) -> dict[int, tuple[int, int, int, int]]:
    """{session: (capacity, taken, confirmed, waitlisted)} read back with one SQL statement."""
    marks = ", ".join(["%s"] * len(session_ids))
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT s.id, s.capacity, s.taken,
                       SUM(CASE WHEN a.status = 'confirmed' THEN 1 ELSE 0 END),
                       SUM(CASE WHEN a.status = 'waitlisted' THEN 1 ELSE 0 END)
                FROM bases_session s LEFT JOIN bases_application a ON a.session_id = s.id
                WHERE s.id IN ({marks}) GROUP BY s.id, s.capacity, s.taken""",
            session_ids,
        )
        return {row[0]: tuple(int(v or 0) for v in row[1:]) for row in cursor.fetchall()}


def over_booked(figures: dict[int, tuple[int, int, int, int]]) -> int:
    """Seats confirmed beyond capacity, plus sessions whose `taken` disagrees with them."""
    beyond = sum(max(0, confirmed - capacity) for capacity, _, confirmed, _ in figures.values())
    return beyond + sum(taken != confirmed for _, taken, confirmed, _ in figures.values())


def reset(session_ids: list[int]) -> None:
    from bases.models import Application, Session

    Application.objects.filter(session_id__in=session_ids).delete()
    Session.objects.filter(pk__in=session_ids).update(taken=0)


@scenario(
    "apply rush",
    goal=Goal("0 over-booked and ≥ 0.25× bare SQL rate", min_ratio=0.25),
    unit="applications/s",
)
def apply_rush(ctx: Context) -> dict:
    wanted = HOT_APPLICANTS + BACKGROUND_SESSIONS * BACKGROUND_APPLICANTS
    pool = students(wanted)
    hot_count = min(HOT_APPLICANTS, len(pool) // 3)
    per_background = min(BACKGROUND_APPLICANTS, (len(pool) - hot_count) // BACKGROUND_SESSIONS)
    with Scratch("apply") as world:
        day = future_day(10)
        hot = world.sessions(day, 1, capacity=CAPACITY)[0]
        background = world.sessions(day + timedelta(days=1), BACKGROUND_SESSIONS, capacity=CAPACITY)
        calls = [(student, hot.pk) for student in pool[:hot_count]]
        rest = iter(pool[hot_count:])
        for session in background:
            calls += [(next(rest), session.pk) for _ in range(per_background)]
        random.Random(7).shuffle(calls)
        session_ids = [hot.pk, *(s.pk for s in background)]
        expected = {
            session_id: min(CAPACITY, sum(1 for _, s in calls if s == session_id))
            for session_id in session_ids
        }
        runs = {"portal": [], "baseline": []}
        checks = {"portal": [], "baseline": []}
        for _attempt in range(ctx.repeat):
            for kind in ("portal", "baseline"):
                result = rush(kind, calls)
                figures = seats(session_ids)
                result["over_booked"] = over_booked(figures)
                result["confirmed_as_expected"] = all(
                    figures[s][2] == expected[s] for s in session_ids
                )
                result["hot_session"] = dict(
                    zip(
                        ("capacity", "taken", "confirmed", "waitlisted"),
                        figures[hot.pk],
                        strict=True,
                    )
                )
                runs[kind].append(result)
                checks[kind].append({s: figures[s][2:] for s in session_ids})
                reset(session_ids)
    portal, portal_spread = median_spread([r["per_second"] for r in runs["portal"]])
    baseline, baseline_spread = median_spread([r["per_second"] for r in runs["baseline"]])
    all_runs = runs["portal"] + runs["baseline"]
    correct = (
        all(r["over_booked"] == 0 and r["confirmed_as_expected"] for r in all_runs)
        and all(r["committed"] == len(calls) for r in all_runs)
        and all(c == checks["baseline"][0] for c in checks["portal"] + checks["baseline"])
    )
    return {
        "portal": portal,
        "baseline": baseline,
        "correct": correct,
        "details": {
            "calls": len(calls),
            "hot_applicants": hot_count,
            "capacity": CAPACITY,
            "background": f"{BACKGROUND_SESSIONS} sessions x {per_background} applicants",
            "connections": prod(_workers(connection.vendor)),
            "over_booked": max(r["over_booked"] for r in all_runs),
            "portal_spread": round(portal_spread, 1),
            "baseline_spread": round(baseline_spread, 1),
            "portal_runs": [_brief(r) for r in runs["portal"]],
            "baseline_runs": [_brief(r) for r in runs["baseline"]],
        },
    }


def _brief(run: dict) -> dict:
    return {
        "per_second": round(run["per_second"], 1),
        "seconds": round(run["seconds"], 2),
        "p95_ms": round(run["p95_ms"], 1),
        "p99_ms": round(run["p99_ms"], 1),
        "outcomes": run["outcomes"],
        "over_booked": run["over_booked"],
        "hot_session": run["hot_session"],
    }
