"""Scenario "city completion": every student's progress, counted per district.

Per district: students, students who met the volunteer hours (in_notice and final records of
volunteer categories, minutes >= hours x minutes per credit hour of the policy for their entry
year), who met the practice days (distinct Asia/Shanghai dates spanned by in_notice and final
records of any category) and who met both. The portal computes it with its own code; the
baseline is one SQL statement; both must give identical numbers.
"""

from django.db import connection
from django.test.utils import CaptureQueriesContext

from .harness import Context, Goal, median_spread, scenario, timed

POLICY_CTE = """
policy AS (
  SELECT y.entry_year,
         p.volunteer_hours_required * p.minutes_per_credit_hour AS minutes_required,
         p.practice_days_required AS days_required
  FROM (SELECT DISTINCT entry_year FROM students_schoolclass) y
  JOIN students_requirementpolicy p ON p.id = COALESCE(
    (SELECT q.id FROM students_requirementpolicy q
     WHERE q.effective_from_entry_year <= y.entry_year
     ORDER BY q.effective_from_entry_year DESC LIMIT 1),
    (SELECT q.id FROM students_requirementpolicy q ORDER BY q.effective_from_entry_year LIMIT 1))
)"""

# The students' attributes are materialised once; the totals join them by hash. (The planner
# cannot estimate how many students the totals hold and guesses 200: left to itself it nests
# loops over 220,000 students per class or per student.)
FINAL_SELECT = """
info AS MATERIALIZED (
  SELECT s.id AS student_id, sc.district_id, p.minutes_required, p.days_required
  FROM students_student s
  JOIN students_schoolclass cl ON cl.id = s.school_class_id
  JOIN students_school sc ON sc.id = cl.school_id
  JOIN policy p ON p.entry_year = cl.entry_year
),
met AS (
  SELECT i.district_id,
         SUM(CASE WHEN t.minutes >= i.minutes_required THEN 1 ELSE 0 END) AS hours,
         SUM(CASE WHEN t.days >= i.days_required THEN 1 ELSE 0 END) AS days,
         SUM(CASE WHEN t.minutes >= i.minutes_required AND t.days >= i.days_required
                  THEN 1 ELSE 0 END) AS both_met
  FROM totals t JOIN info i ON i.student_id = t.student_id
  GROUP BY i.district_id
),
everyone AS (SELECT district_id, COUNT(*) AS students FROM info GROUP BY district_id)
SELECT e.district_id, e.students, COALESCE(m.hours, 0), COALESCE(m.days, 0),
       COALESCE(m.both_met, 0)
FROM everyone e LEFT JOIN met m ON m.district_id = e.district_id
ORDER BY e.district_id"""

# One row per (student, local date touched): a record's minutes count on the date it starts.
# Nearly every record touches one date; the second branch adds the other dates of the few that
# span several (学农, 军训, past midnight), so generate_series runs only for those.
POSTGRES_SQL = f"""
WITH {POLICY_CTE},
touched AS (
  SELECT r.student_id, (r.started_at AT TIME ZONE %(tz)s)::date AS day,
         CASE WHEN c.counts_as_volunteer_service THEN r.credited_minutes ELSE 0 END AS minutes
  FROM students_practicerecord r
  JOIN students_category c ON c.id = r.category_id
  WHERE r.status IN ('in_notice', 'final')
  UNION ALL
  SELECT r.student_id, d.day::date, 0
  FROM students_practicerecord r
  CROSS JOIN LATERAL generate_series(
    (r.started_at AT TIME ZONE %(tz)s)::date + 1,
    ((r.ended_at - interval '1 microsecond') AT TIME ZONE %(tz)s)::date,
    interval '1 day') AS d(day)
  WHERE r.status IN ('in_notice', 'final')
    AND ((r.ended_at - interval '1 microsecond') AT TIME ZONE %(tz)s)::date
        > (r.started_at AT TIME ZONE %(tz)s)::date
),
per_day AS (
  SELECT student_id, day, SUM(minutes) AS minutes FROM touched GROUP BY student_id, day
),
totals AS (
  SELECT student_id, SUM(minutes) AS minutes, COUNT(*) AS days FROM per_day GROUP BY student_id
),
{FINAL_SELECT}"""


# SQLite keeps datetimes as UTC text; Asia/Shanghai is UTC+8 all year (no DST since 1991).
SQLITE_SQL = f"""
WITH RECURSIVE {POLICY_CTE},
rec AS (
  SELECT r.student_id, r.credited_minutes, c.counts_as_volunteer_service AS volunteer,
         date(r.started_at, '+8 hours') AS first_day,
         date(r.ended_at, '+8 hours', '-0.001 seconds') AS last_day
  FROM students_practicerecord r JOIN students_category c ON c.id = r.category_id
  WHERE r.status IN ('in_notice', 'final')
),
n(k) AS (
  SELECT 0 UNION ALL SELECT k + 1 FROM n
  WHERE k < (SELECT MAX(julianday(last_day) - julianday(first_day)) FROM rec)
),
days AS (
  SELECT student_id, COUNT(DISTINCT date(first_day, '+' || k || ' days')) AS days
  FROM rec JOIN n ON n.k <= julianday(last_day) - julianday(first_day)
  GROUP BY student_id
),
totals AS (
  SELECT m.student_id, m.minutes, d.days FROM (
    SELECT student_id, SUM(CASE WHEN volunteer THEN credited_minutes ELSE 0 END) AS minutes
    FROM rec GROUP BY student_id
  ) m JOIN days d ON d.student_id = m.student_id
),
{FINAL_SELECT}"""


def baseline_sql() -> tuple[str, dict | None]:
    if connection.vendor == "postgresql":
        return POSTGRES_SQL, {"tz": "Asia/Shanghai"}
    return SQLITE_SQL, None


def baseline_city_completion() -> dict[int, tuple[int, int, int, int]]:
    sql, params = baseline_sql()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {row[0]: tuple(int(v) for v in row[1:]) for row in cursor.fetchall()}


def portal_city_completion(today=None) -> tuple[dict[int, tuple[int, int, int, int]], dict]:
    """The portal's own city report (`students.completion.city_report`), per district.

    Returns the figures and what else the portal said: its implementation and forecasts.
    """
    from students.completion import city_report

    groups = city_report(today=today)
    figures = {g.key: (g.students, g.hours_met, g.days_met, g.done) for g in groups if g.students}
    forecasts = {state: sum(g.counts[state] for g in groups) for state in groups[0].counts}
    return figures, {
        "implementation": "students.completion.city_report "
        "(students.progress.completion_figures: the per-student totals table, StudentTotal)",
        "forecasts": forecasts,
    }


def explain(sql: str, params) -> list[str]:
    if connection.vendor != "postgresql":
        return []
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params)
        return [row[0] for row in cursor.fetchall()]


@scenario(
    "city completion",
    goal=Goal("≤ 1 s and ≤ 0.2× the full aggregate", max_ratio=0.2, max_value=1.0),
    unit="s",
)
def city_completion(ctx: Context) -> dict:
    baseline_city_completion()  # warm-up: the same pages in cache for both sides
    portal_times, baseline_times = [], []
    portal = baseline = None
    about = {}
    queries = []
    for attempt in range(ctx.repeat):
        with CaptureQueriesContext(connection) as captured:
            seconds, (portal, about) = timed(lambda: portal_city_completion(ctx.today))
        portal_times.append(seconds)
        if attempt == 0:
            queries = [q["sql"] for q in captured.captured_queries]
        seconds, baseline = timed(baseline_city_completion)
        baseline_times.append(seconds)
    portal_median, portal_spread = median_spread(portal_times)
    baseline_median, baseline_spread = median_spread(baseline_times)
    totals = [sum(values[i] for values in baseline.values()) for i in range(4)]
    details = {
        **about,
        "portal_runs_s": [round(t, 3) for t in portal_times],
        "baseline_runs_s": [round(t, 3) for t in baseline_times],
        "portal_spread_s": round(portal_spread, 3),
        "baseline_spread_s": round(baseline_spread, 3),
        "portal_queries": len(queries),
        "city_totals": dict(
            zip(("students", "hours_met", "days_met", "both_met"), totals, strict=True)
        ),  # fmt: skip
        "mismatches": {
            str(d): {"portal": portal.get(d), "baseline": baseline.get(d)}
            for d in sorted(set(portal) | set(baseline))
            if portal.get(d) != baseline.get(d)
        },
    }
    if ctx.explain:
        details["baseline_explain"] = explain(*baseline_sql())
        details["portal_sql"] = queries
    return {
        "portal": portal_median,
        "baseline": baseline_median,
        "unit": "s",
        "correct": portal == baseline,
        "details": details,
    }
