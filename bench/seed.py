"""Load the deterministic benchmark data set (`bench.generate`) at a named scale, in bulk.

    .venv/bin/python bench/seed.py --scale S            # CI smoke size, seconds
    .venv/bin/python bench/seed.py --scale M --replace  # Shanghai scale, PostgreSQL

Uses DATABASE_URL and DJANGO_SETTINGS_MODULE (default portal.settings.local, as manage.py).
The same scale, seed and --today give the same rows. It refuses a database that already has
students, schools or bases unless --replace, which empties the generated tables (users too).
"""

import argparse
import os
import sys
import time
from datetime import date
from pathlib import Path
from typing import TextIO

import django

ROOT = Path(__file__).resolve().parent.parent
if __name__ == "__main__":  # as a script: the portal importable and Django set up before models
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings.local")
    django.setup()

from django.contrib.auth.hashers import make_password
from django.core.management.base import CommandError
from django.core.management.color import color_style, no_style
from django.db import connection, transaction
from django.utils import timezone

from bench.generate import SCALES, BenchData
from bench.load import Loader, existing_rows, load_refs, truncate_generated
from students.progress import totals_rebuild

BENCH_PASSWORD = "bench12345"


def bench_seed(
    *,
    scale: str = "S",
    seed: int = 1,
    replace: bool = False,
    today: date | None = None,
    chunk: int = 200_000,
    drop_indexes: bool = False,
    password: str = BENCH_PASSWORD,
    stdout: TextIO | None = None,
) -> None:
    """Load the data set of `scale` and report each table's rows and time on `stdout`."""
    stdout = stdout or sys.stdout
    style = color_style() if stdout.isatty() else no_style()
    plan = SCALES[scale]
    today = today or timezone.localdate()
    started = time.monotonic()
    with transaction.atomic():
        found = {table: n for table, n in existing_rows().items() if n}
        if found and not replace:
            listed = ", ".join(f"{table}: {n}" for table, n in found.items())
            raise CommandError(
                f"The database already has data ({listed}). "
                "Use --replace to empty the generated tables (and every user) first."
            )
        if replace:
            truncate_generated()
        refs = load_refs(today=today, password_hash=make_password(password))
        generator = BenchData(plan, refs, seed=seed)
        loader = Loader(chunk_rows=chunk, drop_indexes=drop_indexes or plan.records >= 1_000_000)
        stats = loader.run(generator.rows())
        # Loaded in bulk past the ledger's writes: the per-student totals in one rebuild.
        totals_started = time.monotonic()
        totals_rebuild()
        stats.phases["student totals rebuild"] = time.monotonic() - totals_started
    vacuum = 0.0
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        vacuum_started = time.monotonic()
        with connection.cursor() as cursor:
            for table in ("students_practicerecord", "bases_attendance", "bases_application"):
                cursor.execute(f"VACUUM (ANALYZE) {table}")
        vacuum = time.monotonic() - vacuum_started
    _report(stdout, style, plan, seed, today, generator, stats, vacuum, time.monotonic() - started)
    stdout.write(f"Bench logins: bench-city, bench-student-000001, … (password {password})\n")


def _report(stdout, style, plan, seed, today, generator, stats, vacuum, elapsed):
    def write(line: str) -> None:
        stdout.write(line + "\n")

    write(f"bench seed: scale {plan.name}, seed {seed}, today {today}, {connection.vendor}")
    write(f"  {'table':<24} {'rows':>12} {'seconds':>9} {'rows/s':>10}")
    for table, rows in stats.rows.items():
        seconds = stats.seconds[table]
        rate = rows / seconds if seconds else 0
        write(f"  {table:<24} {rows:>12,} {seconds:>9.1f} {rate:>10,.0f}")
    total_rows = sum(stats.rows.values())
    for phase, seconds in stats.phases.items():
        if phase != "total":
            write(f"  {phase:<37} {seconds:>9.1f}")
    for name, seconds in stats.details.items():
        write(f"    {name:<35} {seconds:>9.1f}")
    if vacuum:
        write(f"  {'vacuum analyze':<37} {vacuum:>9.1f}")
    if generator.shortfall:
        write(f"  records short of the plan: {generator.shortfall:,} (no free student found)")
    rate = total_rows / elapsed
    write(style.SUCCESS(f"Loaded {total_rows:,} rows in {elapsed:.1f} s ({rate:,.0f}/s)."))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=sorted(SCALES), default="S")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--replace",
        action="store_true",
        help="empty the generated tables first (students, schools, bases, records, users…)",
    )
    parser.add_argument(
        "--today",
        type=date.fromisoformat,
        default=None,
        help="the day the data is generated around (default: today in Asia/Shanghai)",
    )
    parser.add_argument("--chunk", type=int, default=200_000, help="rows per bulk write")
    parser.add_argument(
        "--drop-indexes",
        action="store_true",
        help="PostgreSQL: build the big tables' indexes after the load (auto from 1M records)",
    )
    parser.add_argument("--password", default=BENCH_PASSWORD, help="every bench login's")
    try:
        bench_seed(**vars(parser.parse_args(argv)))
    except CommandError as error:
        print(f"CommandError: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
