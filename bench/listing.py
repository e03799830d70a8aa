"""Scenario "listing": a district's open posts, a filtered page of 20, under concurrent load.

gunicorn (4 sync workers, `bench.settings`) serves both sides on loopback; the load generator
(`wrk`, else Python) keeps 16 connections busy for a fixed time, each signed in as one of 8
students of different schools, and walks through the pages of every district that has bases:
`/districts/<code>/` plain, `?free=on`, `?level=district` and `?category=<volunteer service>`.

- portal: those listing pages (`bases.views.public.DistrictPostListView`);
- baseline: `/bench/nodb/` on the same server, a view that touches no database and answers with
  the bytes of one of those listing pages (`bench.urls`).

With CACHE_URL=redis://... the portal runs with its production cache, as deployed: a warm
listing page is served from it (`bases.listing_cache`) and reads nothing from the database.
Before the timed runs every page is fetched once as each student (the steady state: a page
seen once stays warm until something it shows changes), so the figures are of warm pages.

Figures: requests/s (median of the runs); p95 latencies in the details. Correct: every answer
was a 200, and each page, fetched over HTTP, shows what one SQL statement says that student
should see: the number of open posts, and the first 20 by next session (their seats left and
next session times; posts that tie on the time may come in any order).
"""

import re
import tempfile
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.test import Client
from django.utils import timezone

from bases.models import Base
from districts.models import District
from students.models import Category, Student

from .fixtures import Scratch, students
from .harness import Context, Goal, median_spread, scenario
from .web import Gunicorn, get, load

STUDENTS = 8
CONNECTIONS = 16
PAGE = 20
ROW = re.compile(
    r'<a href="/posts/(\d+)/">.*?<td class="num"[^>]*>(?:<span[^>]*>)?\s*([\d,]+)', re.S
)
COUNT = re.compile(r'data-testid="result-count">\D*([\d,]+)')


def listing_paths() -> list[tuple[str, dict]]:
    """(path, filter) for every district with bases: plain and three filters."""
    volunteer = Category.objects.get(code="volunteer_service").pk
    codes = District.objects.filter(pk__in=Base.objects.values("district")).order_by("sort_order")
    paths = []
    for code in codes.values_list("code", flat=True):
        paths += [
            (f"/districts/{code}/", {}),
            (f"/districts/{code}/?free=on", {"free": True}),
            (f"/districts/{code}/?level=district", {"level": "district"}),
            (f"/districts/{code}/?category={volunteer}", {"category": volunteer}),
        ]
    return paths


def expected_listing(*, code: str, school_id: int, filters: dict) -> list[tuple[int, object, int]]:
    """(post, next session start, seats left) of every open post the student should see."""
    now = timezone.now()
    today = timezone.localdate(now)
    extra, params = "", []
    if "category" in filters:
        extra += " AND p.category_id = %s"
        params.append(filters["category"])
    if "level" in filters:
        extra += " AND b.level = %s"
        params.append(filters["level"])
    having = " HAVING SUM(s.capacity - s.taken) > 0" if filters.get("free") else ""
    sql = f"""
SELECT p.id, MIN(s.starts_at), SUM(s.capacity - s.taken)
FROM bases_post p
JOIN bases_base b ON b.id = p.base_id
JOIN districts_district d ON d.id = b.district_id
JOIN bases_session s ON s.post_id = p.id AND s.starts_at > %s AND s.applications_close_at > %s
WHERE p.status = 'published' AND b.status = 'certified' AND b.certified_until >= %s
  AND d.code = %s
  AND (b.level <> 'school' OR b.id IN (
        SELECT c.base_id FROM bases_schoolcontract c
        WHERE c.school_id = %s AND c.valid_until >= %s)){extra}
GROUP BY p.id{having}
ORDER BY 2, 1"""
    with connection.cursor() as cursor:
        cursor.execute(sql, [now, now, today, code, school_id, today, *params])
        return [(row[0], row[1], int(row[2])) for row in cursor.fetchall()]


def page_matches(html: str, expected: list[tuple[int, object, int]]) -> tuple[bool, str]:
    """Whether a listing page shows the expected count and first page (ties in any order)."""
    count = COUNT.search(html)
    shown = [(int(post), int(seats.replace(",", ""))) for post, seats in ROW.findall(html)]
    if count is None or int(count.group(1).replace(",", "")) != len(expected):
        return False, f"count {count.group(1) if count else None} != {len(expected)}"
    by_post = {post: (start, seats) for post, start, seats in expected}
    if len(shown) != min(PAGE, len(expected)):
        return False, f"{len(shown)} rows shown"
    for post, seats in shown:
        if post not in by_post or by_post[post][1] != seats:
            return False, f"post {post} seats {seats} vs {by_post.get(post)}"
    starts = sorted(by_post[post][0] for post, _ in shown)
    if starts != [start for _, start, _ in expected[: len(shown)]]:
        return False, "not the first page by next session"
    return True, ""


def check_pages(server_url: str, cookies: list[tuple[str, int]], paths: list) -> tuple[int, list]:
    """Every page over HTTP, against the SQL; (pages checked, problems)."""
    problems = []
    for index, (path, filters) in enumerate(paths):
        cookie, school_id = cookies[index % len(cookies)]
        code = path.split("/")[2]
        for _attempt in range(2):  # a session closing between the two reads: read again
            status, body = get(server_url + path, headers={"Cookie": cookie})
            expected = expected_listing(code=code, school_id=school_id, filters=filters)
            ok, why = page_matches(body.decode(), expected) if status == 200 else (False, status)
            if ok:
                break
        else:
            problems.append(f"{path}: {why}")
    return len(paths), problems


@scenario(
    "listing",
    goal=Goal(
        "≥ 0.5× the no-database view, p95 ≤ 50 ms",
        min_ratio=0.5,
        detail_max=(("portal_p95_ms", 50.0),),
    ),
    unit="requests/s",
)
def listing(ctx: Context) -> dict:
    full = ctx.scale in ("M", "L")
    seconds = 20 if full else 3
    with Scratch("listing") as world:
        people = Student.objects.filter(pk__in=students(STUDENTS)).select_related(
            "user", "school_class"
        )
        cookies = [(world.login_cookie(s.user), s.school_class.school_id) for s in people]
        paths = listing_paths()
        client = Client()
        client.cookies["sessionid"] = cookies[0][0].split("=", 1)[1]
        sample = client.get(paths[0][0]).content
        with tempfile.NamedTemporaryFile(prefix="bench-nodb-", suffix=".html") as body:
            Path(body.name).write_bytes(sample)
            with Gunicorn(env={"BENCH_NODB_BODY": body.name}) as server:
                pages, problems = check_pages(server.url, cookies, paths)
                for path, _filters in paths:  # steady state: every page once as each student
                    for cookie, _school in cookies:
                        get(server.url + path, headers={"Cookie": cookie})
                header = [cookie for cookie, _ in cookies]
                portal_paths = [path for path, _ in paths]
                load(server.url, portal_paths, cookies=header, seconds=2, connections=CONNECTIONS)
                load(server.url, ["/bench/nodb/"], cookies=header, seconds=2)
                portal_runs, baseline_runs = [], []
                for _attempt in range(ctx.repeat):
                    portal_runs.append(
                        load(
                            server.url,
                            portal_paths,
                            cookies=header,
                            seconds=seconds,
                            connections=CONNECTIONS,
                        )  # fmt: skip
                    )
                    baseline_runs.append(
                        load(
                            server.url,
                            ["/bench/nodb/"],
                            cookies=header,
                            seconds=seconds,
                            connections=CONNECTIONS,
                        )  # fmt: skip
                    )
    portal, portal_spread = median_spread([r.per_second for r in portal_runs])
    baseline, baseline_spread = median_spread([r.per_second for r in baseline_runs])
    errors = sum(r.errors for r in portal_runs + baseline_runs)
    return {
        "portal": portal,
        "baseline": baseline,
        "correct": not problems and errors == 0 and pages > 0,
        "details": {
            "pages_checked": pages,
            "problems": problems[:20],
            "errors": errors,
            "page_bytes": len(sample),
            "cache": settings.CACHES["default"]["BACKEND"],
            "portal_p95_ms": median_spread([r.p95_ms for r in portal_runs])[0],
            "baseline_p95_ms": median_spread([r.p95_ms for r in baseline_runs])[0],
            "portal_spread": round(portal_spread, 1),
            "baseline_spread": round(baseline_spread, 1),
            "portal_runs": [r.as_dict() for r in portal_runs],
            "baseline_runs": [r.as_dict() for r in baseline_runs],
            "note": f"gunicorn 4 sync workers, {CONNECTIONS} connections, {STUDENTS} signed-in "
            f"students, {len(paths)} pages (4 per district with bases), {seconds} s per run; "
            f"p95 {median_spread([r.p95_ms for r in portal_runs])[0]:.0f} ms vs "
            f"{median_spread([r.p95_ms for r in baseline_runs])[0]:.0f} ms.",
        },
    }
