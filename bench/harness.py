"""The benchmark registry, the run loop and the result files (results.json, results.md).

A scenario is a function `(ctx) -> dict` registered with `@scenario(name, goal=...)`. It returns
`portal` and `baseline` (the baseline measured in the same run, on the same data), `unit`,
`correct` (the portal gave the same numbers as the baseline) and `details`; the harness adds
the ratio and whether the goal is met. A wrong result fails the run whatever its speed.
"""

import contextlib
import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from django.db import connection


@dataclass(frozen=True)
class Goal:
    """`portal / baseline` must stay within `max_ratio` (times) or reach `min_ratio` (rates)."""

    text: str
    max_ratio: float | None = None
    min_ratio: float | None = None

    def met(self, ratio: float | None) -> bool | None:
        if ratio is None:
            return None
        if self.max_ratio is not None and ratio > self.max_ratio:
            return False
        return not (self.min_ratio is not None and ratio < self.min_ratio)


@dataclass(frozen=True)
class Scenario:
    name: str
    goal: Goal
    run: Callable[["Context"], dict]


@dataclass
class Context:
    scale: str
    repeat: int = 3
    explain: bool = False
    today: date | None = None


SCENARIOS: dict[str, Scenario] = {}


def scenario(name: str, *, goal: Goal):
    def register(function: Callable[[Context], dict]) -> Callable[[Context], dict]:
        SCENARIOS[name] = Scenario(name, goal, function)
        return function

    return register


def timed(function: Callable[[], object]) -> tuple[float, object]:
    started = time.perf_counter()
    value = function()
    return time.perf_counter() - started, value


def run_scenario(item: Scenario, ctx: Context) -> dict:
    started = time.perf_counter()
    try:
        result = item.run(ctx)
    except Exception as error:  # a crash is reported as a failed, incorrect scenario
        result = {"portal": None, "baseline": None, "unit": "", "correct": False,
                  "details": {"error": f"{type(error).__name__}: {error}"}}  # fmt: skip
    portal, baseline = result.get("portal"), result.get("baseline")
    ratio = portal / baseline if portal is not None and baseline else None
    return {
        "scenario": item.name,
        "portal": portal,
        "baseline": baseline,
        "unit": result.get("unit", ""),
        "ratio": ratio,
        "goal": item.goal.text,
        "met": item.goal.met(ratio),
        "correct": bool(result.get("correct")),
        "seconds": round(time.perf_counter() - started, 2),
        "details": result.get("details", {}),
    }


def median_spread(values: list[float]) -> tuple[float, float]:
    return statistics.median(values), (max(values) - min(values)) if values else 0.0


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
    with connection.cursor() as cursor:
        cursor.execute("SELECT version()" if connection.vendor == "postgresql" else
                       "SELECT 'SQLite ' || sqlite_version()")  # fmt: skip
        database = cursor.fetchone()[0]
    return {
        "machine": f"{platform.node()} {platform.machine()}, {os.cpu_count()} CPUs {cpu}".strip(),
        "memory": memory,
        "python": platform.python_version(),
        "database": database,
        "students": Student.objects.count(),
        "records": PracticeRecord.objects.count(),
    }


def number(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:,.3f}" if abs(value) < 100 else f"{value:,.0f}"


def write_results(results: list[dict], ctx: Context, directory: Path, started: float) -> None:
    env = environment()
    seconds = round(time.perf_counter() - started, 1)
    payload = {"scale": ctx.scale, "repeat": ctx.repeat, "environment": env,
               "seconds": seconds, "scenarios": results}  # fmt: skip
    (directory / "results.json").write_text(
        json.dumps(payload, ensure_ascii=False, indent=2, default=str) + "\n"
    )
    lines = [
        f"# Benchmark results (scale {ctx.scale})",
        "",
        f"Machine: {env['machine']}, {env['memory']} RAM; Python {env['python']}; "
        f"{env['database'].split(' on ')[0]}. Data: {env['students']:,} students, "
        f"{env['records']:,} records. Median of {ctx.repeat} run(s).",
        "",
        "| Scenario | Portal | Baseline (same run) | Unit | Ratio | Goal | Met | Correct |",
        "|---|---:|---:|---|---:|---|---|---|",
    ]
    for r in results:
        met = {True: "met", False: "**missed**", None: "—"}[r["met"]]
        ratio = f"{r['ratio']:.2f}×" if r["ratio"] is not None else "—"
        correct = "yes" if r["correct"] else "**NO**"
        lines.append(
            f"| {r['scenario']} | {number(r['portal'])} | {number(r['baseline'])} | {r['unit']} "
            f"| {ratio} | {r['goal']} | {met} | {correct} |"
        )
    (directory / "results.md").write_text("\n".join(lines) + "\n")
