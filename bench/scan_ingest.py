"""Scenario "scan ingest": check-in and check-out scans pushed in batches of 500, with repeats.

20 sessions of a scratch base that ended yesterday, 150 confirmed students each (fewer on a
small data set): 6,000 distinct scans (a check-in and a check-out per student). Four clients,
one per quarter of the sessions, each send their scans in batches of 500: 400 new scans and 100
scans already sent (a device re-sending what it got no answer for). Same rows, same batches,
same four connections on both sides:

- portal: `POST /api/v1/scans` with the base's bearer token, on gunicorn (4 sync workers); each
  scan is checked (nonce, roster, times), recorded once and folded into the attendance row;
- baseline: `INSERT INTO bases_attendancescan ... ON CONFLICT (nonce) DO NOTHING`, one
  multi-row statement and commit per batch, straight to the database.

Figure: rows sent per second (repeats included). Correct: both sides hold exactly the distinct
scans, the same rows; the API answered created for each new scan and repeated for each repeat,
with no error; the portal made one attendance row per student with the earliest check-in and
the latest check-out.
"""

import json
import random
import threading
import time
from datetime import UTC, timedelta

from django.db import connection
from django.utils import timezone

from bases.models import Attendance, AttendanceScan
from bases.services.api_tokens import api_token_create
from bases.services.attendance import scan_digest
from students.models import Student

from .fixtures import Scratch, db_value, past_day, raw_connect, raw_params, raw_sql, students
from .harness import Context, Goal, median_spread, scenario
from .web import Gunicorn, post

SESSIONS = 20
PER_SESSION = 150
BATCH = 500
REPEATS = 100  # per batch, of scans sent before
CLIENTS = 4
COLUMNS = [
    "nonce",
    "session_id",
    "student_id",
    "kind",
    "happened_at",
    "received_at",
    "source",
    "payload_digest",
]


def plan(sessions, people: dict[int, str]) -> tuple[list[list[list[dict]]], list[dict]]:
    """Per client, its batches (lists of scans); and every distinct scan."""
    rng = random.Random(11)
    ids = list(people)
    distinct, clients = [], [[] for _ in range(CLIENTS)]
    per = min(PER_SESSION, len(ids) // len(sessions))
    for index, session in enumerate(sessions):
        mine = ids[index * per : (index + 1) * per]
        session.roster = mine
        scans = []
        for student_id in mine:
            for kind, at in (
                ("in", session.starts_at + timedelta(minutes=rng.randint(-10, 5))),
                ("out", session.ends_at + timedelta(minutes=rng.randint(-5, 10))),
            ):
                scans.append({"nonce": f"bench-{session.pk}-{student_id}-{kind}",
                              "session": session.pk, "student_id": student_id,
                              "student_number": people[student_id], "kind": kind,
                              "time": at.isoformat()})  # fmt: skip
        rng.shuffle(scans)
        distinct += scans
        clients[index % CLIENTS] += scans
    batches = []
    for scans in clients:
        mine, sent = [], []
        for start in range(0, len(scans), BATCH - REPEATS):
            new = scans[start : start + BATCH - REPEATS]
            again = rng.sample(sent or new, min(REPEATS, len(sent or new)))
            batch = new + again
            rng.shuffle(batch)
            mine.append(batch)
            sent += new
        batches.append(mine)
    return batches, distinct


def portal_run(url: str, token: str, batches) -> dict:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    totals = {"created": 0, "repeated": 0, "errors": 0, "not_200": 0}
    lock = threading.Lock()
    keep = ("nonce", "student_number", "session", "kind", "time")

    def client(mine):
        counts = {"created": 0, "repeated": 0, "errors": 0, "not_200": 0}
        for batch in mine:
            body = json.dumps({"scans": [{k: s[k] for k in keep} for s in batch]}).encode()
            status, answer = post(url + "/api/v1/scans", body, headers=headers)
            if status != 200:
                counts["not_200"] += 1
                continue
            data = json.loads(answer)
            for key in ("created", "repeated", "errors"):
                counts[key] += data[key]
        with lock:
            for key, value in counts.items():
                totals[key] += value

    return _timed_clients(client, batches) | totals


def baseline_run(params: dict, batches) -> dict:
    names = ", ".join(COLUMNS)

    def client(mine):
        raw = raw_connect(params)
        try:
            for batch in mine:
                rows = ", ".join(["(" + ", ".join(["%s"] * len(COLUMNS)) + ")"] * len(batch))
                sql = raw_sql(
                    params,
                    f"INSERT INTO bases_attendancescan ({names}) VALUES {rows} "
                    "ON CONFLICT (nonce) DO NOTHING",
                )
                values = [v for scan in batch for v in scan["row"]]
                if params["vendor"] == "postgresql":
                    with raw.cursor() as cursor:
                        cursor.execute(sql, values)
                    raw.commit()
                else:
                    raw.execute("BEGIN IMMEDIATE")
                    raw.execute(sql, values)
                    raw.execute("COMMIT")
        finally:
            raw.close()

    return _timed_clients(client, batches)


def _timed_clients(client, batches) -> dict:
    failures = []

    def guarded(mine):
        try:
            client(mine)
        except Exception as error:  # raised below, in the scenario's thread
            failures.append(error)

    threads = [threading.Thread(target=guarded, args=(mine,)) for mine in batches]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    if failures:
        raise failures[0]
    rows = sum(len(batch) for mine in batches for batch in mine)
    return {"seconds": seconds, "rows": rows, "per_second": rows / seconds}


def stored(session_ids) -> list[tuple]:
    rows = AttendanceScan.objects.filter(session_id__in=session_ids).values_list(
        "nonce", "session_id", "student_id", "kind", "happened_at"
    )
    return sorted(rows)


def attendance_right(sessions) -> bool:
    """One attendance row per student: the earliest check-in and the latest check-out."""
    expected = {}
    for scan in AttendanceScan.objects.filter(session__in=sessions):
        key = (scan.session_id, scan.student_id)
        low, high = expected.get(key, (None, None))
        if scan.kind == "in":
            low = scan.happened_at if low is None else min(low, scan.happened_at)
        else:
            high = scan.happened_at if high is None else max(high, scan.happened_at)
        expected[key] = (low, high)
    found = {
        (a.session_id, a.student_id): (a.checked_in_at, a.checked_out_at)
        for a in Attendance.objects.filter(session__in=sessions)
    }
    return found == expected and len(found) == sum(len(s.roster) for s in sessions)


def clear(session_ids) -> None:
    AttendanceScan.objects.filter(session_id__in=session_ids).delete()
    Attendance.objects.filter(session_id__in=session_ids).delete()


@scenario(
    "scan ingest", goal=Goal("≥ 0.5× bare INSERT … ON CONFLICT", min_ratio=0.5), unit="rows/s"
)
def scan_ingest(ctx: Context) -> dict:
    params = raw_params()
    with Scratch("scans") as world:
        sessions = world.sessions(past_day(1), SESSIONS, capacity=PER_SESSION, minutes=90)
        pool = students(SESSIONS * PER_SESSION)
        people = dict(
            Student.objects.filter(pk__in=pool).values_list("pk", "student_number").order_by("pk")
        )
        batches, distinct = plan(sessions, people)
        world.confirm([(session, session.roster) for session in sessions])
        received = timezone.now()
        for mine in batches:
            for batch in mine:
                for scan in batch:
                    if "row" not in scan:
                        at = timezone.datetime.fromisoformat(scan["time"])
                        digest = scan_digest(session_id=scan["session"],
                                             student_id=scan["student_id"], kind=scan["kind"],
                                             happened_at=at)  # fmt: skip
                        scan["row"] = (scan["nonce"], scan["session"], scan["student_id"],
                                       scan["kind"], db_value(params, at),
                                       db_value(params, received), "api", digest)  # fmt: skip
        token = api_token_create(base=world.base, name="bench", created_by=world.coordinator)[1]
        session_ids = [s.pk for s in sessions]
        expected = sorted(
            (s["nonce"], s["session"], s["student_id"], s["kind"],
             timezone.datetime.fromisoformat(s["time"]).astimezone(UTC))
            for s in distinct
        )  # fmt: skip
        portal_runs, baseline_runs, problems = [], [], []
        with Gunicorn() as server:
            for _attempt in range(ctx.repeat):
                result = baseline_run(params, batches)
                if stored(session_ids) != expected:
                    problems.append("baseline rows differ from the distinct scans")
                baseline_runs.append(result)
                clear(session_ids)
                result = portal_run(server.url, token, batches)
                if stored(session_ids) != expected:
                    problems.append("portal rows differ from the distinct scans")
                if (result["created"], result["errors"], result["not_200"]) != (
                    len(distinct),
                    0,
                    0,
                ) or result["created"] + result["repeated"] != result["rows"]:
                    problems.append(f"portal answered {result}")
                if not attendance_right(sessions):
                    problems.append("attendance rows do not match the scans")
                portal_runs.append(result)
                clear(session_ids)
        connection.close()
    portal, portal_spread = median_spread([r["per_second"] for r in portal_runs])
    baseline, baseline_spread = median_spread([r["per_second"] for r in baseline_runs])
    rows = portal_runs[0]["rows"]
    return {
        "portal": portal,
        "baseline": baseline,
        "correct": not problems,
        "details": {
            "sessions": SESSIONS,
            "distinct_scans": len(distinct),
            "rows_sent": rows,
            "batches": sum(len(mine) for mine in batches),
            "clients": CLIENTS,
            "problems": problems[:10],
            "portal_runs": [
                {k: round(v, 2) if isinstance(v, float) else v for k, v in r.items()}
                for r in portal_runs
            ],  # fmt: skip
            "baseline_runs": [
                {k: round(v, 2) if isinstance(v, float) else v for k, v in r.items()}
                for r in baseline_runs
            ],  # fmt: skip
            "portal_spread": round(portal_spread, 1),
            "baseline_spread": round(baseline_spread, 1),
            "note": f"{len(distinct):,} distinct scans sent as {rows:,} rows (batches of {BATCH}, "
            f"{REPEATS} repeats each) by {CLIENTS} clients.",
        },
    }
