"""Load the deterministic benchmark data set (`bench.generate`) at a named scale, in bulk.

    python manage.py seed_bench --scale S            # CI smoke size, seconds
    python manage.py seed_bench --scale M --replace  # Shanghai scale, PostgreSQL

The same scale, seed and --today give the same rows. It refuses a database that already has
students, schools or bases unless --replace, which empties the generated tables (users too).
"""

import time
from datetime import date

from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone

from bench.generate import SCALES, BenchData
from bench.load import Loader, existing_rows, load_refs, truncate_generated

BENCH_PASSWORD = "bench12345"


class Command(BaseCommand):
    help = "Load the benchmark data set (S: CI smoke, M: Shanghai scale) with COPY / bulk inserts."

    def add_arguments(self, parser):
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

    def handle(self, *args, scale, seed, replace, today, chunk, password, drop_indexes, **options):
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
            loader = Loader(
                chunk_rows=chunk, drop_indexes=drop_indexes or plan.records >= 1_000_000
            )
            stats = loader.run(generator.rows())
        vacuum = 0.0
        if connection.vendor == "postgresql" and not connection.in_atomic_block:
            vacuum_started = time.monotonic()
            with connection.cursor() as cursor:
                for table in ("students_practicerecord", "bases_attendance", "bases_application"):
                    cursor.execute(f"VACUUM (ANALYZE) {table}")
            vacuum = time.monotonic() - vacuum_started
        self.report(plan, seed, today, generator, stats, vacuum, time.monotonic() - started)
        self.stdout.write(
            f"Bench logins: bench-city, bench-student-000001, … (password {password})"
        )

    def report(self, plan, seed, today, generator, stats, vacuum, elapsed):
        write = self.stdout.write
        write(f"seed_bench scale {plan.name}, seed {seed}, today {today}, {connection.vendor}")
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
        write(self.style.SUCCESS(f"Loaded {total_rows:,} rows in {elapsed:.1f} s ({rate:,.0f}/s)."))
