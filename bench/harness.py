"""The benchmark registry, the run loop and the result files (results.json, results.md).

A scenario is a function `(ctx) -> dict` registered with `@scenario(name, goal=..., unit=...)`.
It returns `portal` and `baseline` (the baseline measured in the same run, on the same data),
`correct` (the portal gave the same numbers as the baseline) and `details` (with an optional
`note`, printed under the table); the harness adds the ratio, whether the goal is met, the time
the scenario took and the load average around it. A wrong result fails the run whatever its
speed; a crash is a wrong result.
"""

import contextlib
import json
import os
import platform
import statistics
import subprocess
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from django.db import connection


@dataclass(frozen=True)
class Goal:
    """Times: `portal <= max_ratio * baseline + allowance`. Rates: `portal >= min_ratio *
    baseline`. `max_value` caps the portal's own figure (city completion: 1 s wall) and
    `detail_max` caps figures of the scenario's details (the listing's p95 in ms); every part
    must hold. A goal with no ratio is only reported."""

    text: str
    max_ratio: float | None = None
    min_ratio: float | None = None
    allowance: float = 0.0  # in the scenario's unit, e.g. the 30 ms of rendering a report
    max_value: float | None = None
    detail_max: tuple[tuple[str, float], ...] = ()

    def met(
        self, portal: float | None, baseline: float | None, details: dict | None = None
    ) -> bool | None:
        if portal is None or not baseline:
            return None
        if self.max_ratio is None and self.min_ratio is None:
            return None
        if self.max_ratio is not None and portal > self.max_ratio * baseline + self.allowance:
            return False
        if self.max_value is not None and portal > self.max_value:
            return False
        for key, cap in self.detail_max:
            value = (details or {}).get(key)
            if value is None or value > cap:
                return False
        return not (self.min_ratio is not None and portal < self.min_ratio * baseline)


@dataclass(frozen=True)
class Scenario:
    name: str
    goal: Goal
    unit: str
    run: Callable[["Context"], dict]


@dataclass
class Context:
    scale: str
    repeat: int = 3
    explain: bool = False
    today: date | None = None


SCENARIOS: dict[str, Scenario] = {}


def scenario(name: str, *, goal: Goal, unit: str = "s"):
    def register(function: Callable[[Context], dict]) -> Callable[[Context], dict]:
        SCENARIOS[name] = Scenario(name, goal, unit, function)
        return function

    return register


def timed(function: Callable[[], object]) -> tuple[float, object]:
    started = time.perf_counter()
    value = function()
    return time.perf_counter() - started, value


def load_average() -> float:
    return round(os.getloadavg()[0], 2)


def run_scenario(item: Scenario, ctx: Context) -> dict:
    started = time.perf_counter()
    load_before = load_average()
    try:
        result = item.run(ctx)
    except Exception as error:  # a crash is reported as a failed, incorrect scenario
        result = {"portal": None, "baseline": None, "correct": False,
                  "details": {"error": f"{type(error).__name__}: {error}",
                              "traceback": traceback.format_exc().splitlines()[-12:]}}  # fmt: skip
    portal, baseline = result.get("portal"), result.get("baseline")
    ratio = portal / baseline if portal is not None and baseline else None
    return {
        "scenario": item.name,
        "portal": portal,
        "baseline": baseline,
        "unit": result.get("unit", item.unit),
        "ratio": ratio,
        "goal": item.goal.text,
        "met": item.goal.met(portal, baseline, result.get("details")),
        "correct": bool(result.get("correct")),
        "seconds": round(time.perf_counter() - started, 2),
        "load_average": {"before": load_before, "after": load_average()},
        "details": result.get("details", {}),
    }


def median_spread(values: list[float]) -> tuple[float, float]:
    if not values:
        return 0.0, 0.0
    return statistics.median(values), max(values) - min(values)


def busy_processes(limit: int = 5) -> list[str]:
    """The processes using the most CPU right now, other than this run's (for the report)."""
    try:
        listing = subprocess.run(
            ["ps", "-eo", "pid,ppid,pcpu,rss,comm", "--sort=-pcpu", "--no-headers"],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.splitlines()
    except (OSError, subprocess.SubprocessError):
        return []
    mine = {str(os.getpid())}
    busy = []
    for line in listing:
        pid, ppid, cpu, rss, command = line.split(None, 4)
        if pid in mine or ppid in mine or float(cpu) < 5.0:
            continue
        busy.append(f"{command} (pid {pid}, {cpu}% CPU, {int(rss) // 1024} MB)")
        if len(busy) == limit:
            break
    return busy


def environment() -> dict:
    from students.models import PracticeRecord, Student

    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    with contextlib.suppress(OSError, IndexError):
        memory = Path("/proc/meminfo").read_text().splitlines()[0].split(":", 1)[1].strip()
    settings = {}
    with connection.cursor() as cursor:
        cursor.execute("SELECT version()" if connection.vendor == "postgresql" else
                       "SELECT 'SQLite ' || sqlite_version()")  # fmt: skip
        database = cursor.fetchone()[0]
        if connection.vendor == "postgresql":
            for name in ("shared_buffers", "work_mem", "max_parallel_workers_per_gather", "jit"):
                cursor.execute(f"SHOW {name}")
                settings[name] = cursor.fetchone()[0]
    return {
        "machine": f"{platform.node()} {platform.machine()}, {os.cpu_count()} CPUs {cpu}".strip(),
        "memory": memory,
        "python": platform.python_version(),
        "database": database,
        "database_settings": settings,
        "students": Student.objects.count(),
        "records": PracticeRecord.objects.count(),
    }


def number(value: float | None) -> str:
    if value is None:
        return "—"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 1:
        return f"{value:,.2f}"
    return f"{value:.3f}"


def write_results(
    results: list[dict], ctx: Context, directory: Path, started: float, extra: dict
) -> None:
    env = environment()
    seconds = round(time.perf_counter() - started, 1)
    payload = {"scale": ctx.scale, "repeat": ctx.repeat, "environment": env,
               "seconds": seconds, **extra, "scenarios": results}  # fmt: skip
    (directory / "results.json").write_text(
        json.dumps(payload, ensure_ascii=False, indent=2, default=str) + "\n"
    )
    target = directory / "results.md"
    target.write_text(markdown(payload) + analysis_kept(target))


ANALYSIS_HEADING = "## Where the time goes"


def analysis_kept(target: Path) -> str:
    """The hand-written analysis below ANALYSIS_HEADING in an earlier results.md, kept as it was."""
    if not target.exists():
        return ""
    text = target.read_text()
    start = text.find(ANALYSIS_HEADING)
    return "" if start < 0 else "\n" + text[start:]


def markdown(payload: dict) -> str:
    env, results = payload["environment"], payload["scenarios"]
    pg = env.get("database_settings") or {}
    tuning = ", ".join(f"{k} {v}" for k, v in pg.items())
    loads = [r["load_average"][k] for r in results for k in ("before", "after")]
    lines = [
        f"# Benchmark results (scale {payload['scale']})",
        "",
        f"Machine: {env['machine']}, {env['memory']} RAM; Python {env['python']}; "
        f"{env['database'].split(' on ')[0]}{f' ({tuning})' if tuning else ''}. "
        f"Data: {env['students']:,} students, {env['records']:,} records. "
        f"Median of {payload['repeat']} run(s) per scenario. Whole run: "
        f"{payload['seconds'] / 60:.1f} min; load average {min(loads, default=0):.2f}–"
        f"{max(loads, default=0):.2f} (1 min).",
    ]
    if payload.get("other_processes"):
        lines += ["", f"Also running at the start: {'; '.join(payload['other_processes'])}."]
    lines += [
        "",
        "| Scenario | Portal | Baseline (same run) | Unit | Ratio | Goal | Met | Correct |",
        "|---|---:|---:|---|---:|---|---|---|",
    ]
    notes = []
    for r in results:
        met = {True: "met", False: "**missed**", None: "—"}[r["met"]]
        ratio = f"{r['ratio']:.2f}×" if r["ratio"] is not None else "—"
        correct = "yes" if r["correct"] else "**NO**"
        lines.append(
            f"| {r['scenario']} | {number(r['portal'])} | {number(r['baseline'])} | {r['unit']} "
            f"| {ratio} | {r['goal']} | {met} | {correct} |"
        )
        if r["details"].get("note"):
            notes.append(f"- **{r['scenario']}**: {r['details']['note']}")
        if r["details"].get("error"):
            notes.append(f"- **{r['scenario']}** failed: {r['details']['error']}")
    if notes:
        lines += ["", *notes]
    return "\n".join(lines) + "\n"
