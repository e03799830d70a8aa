"""Writes `bench.generate` rows into the database in bulk, in one transaction.

PostgreSQL: COPY (psycopg 3 `cursor.copy(...).write_row`), chunk by chunk, in a UTC session.
With `drop_indexes` the four big tables lose their secondary indexes, unique and foreign-key
constraints for the load and get them back (re-validated) before the commit, in the same
transaction, so a failed load leaves the schema as it was. SQLite: `executemany` batches.
Ids come from the generator, so foreign keys need no round trips; sequences are reset after.
"""

import time
from dataclasses import dataclass, field

from django.apps import apps
from django.core.management.base import CommandError
from django.core.management.color import no_style
from django.db import connection

from .generate import BIG_TABLES, COLUMNS, TABLES, Refs

ORDER = list(TABLES)


def model_of(table: str):
    return apps.get_model(TABLES[table][0])


def db_table(table: str) -> str:
    return model_of(table)._meta.db_table


def check_columns() -> None:
    """Every NOT NULL column without a database default must be written: say which are not."""
    missing = []
    for table, columns in COLUMNS.items():
        for f in model_of(table)._meta.concrete_fields:
            if f.column not in columns and not f.null and not f.has_db_default():
                missing.append(f"{db_table(table)}.{f.column}")
    if missing:
        raise CommandError(f"bench.generate does not fill: {', '.join(missing)}")


def existing_rows() -> dict[str, int]:
    """Rows already in the generated tables (users aside: those may exist before a seed)."""
    return {t: model_of(t)._default_manager.count() for t in ORDER if t != "user"}


def truncate_generated() -> None:
    """Empty the generated tables and whatever refers to them (users included), ids reset."""
    tables = [db_table(t) for t in ORDER]
    with connection.cursor() as cursor:
        for sql in connection.ops.sql_flush(
            no_style(), tables, reset_sequences=True, allow_cascade=True
        ):
            cursor.execute(sql)


def load_refs(*, today, password_hash: str) -> Refs:
    from districts.models import District
    from students.models import Category, RequirementPolicy

    policies = [
        (p.effective_from_entry_year, p.volunteer_hours_required, p.practice_days_required,
         p.minutes_per_credit_hour, p.notice_days)
        for p in RequirementPolicy.objects.all()
    ]  # fmt: skip
    if not policies:
        raise CommandError("No requirement policy: run migrate first.")
    offsets = {}
    for table in ORDER:
        top = model_of(table)._default_manager.order_by("-pk").values_list("pk", flat=True)
        offsets[table] = top.first() or 0
    return Refs(
        today=today,
        districts=list(
            District.objects.order_by("sort_order", "code").values_list("id", "code", "name_zh")
        ),  # fmt: skip
        categories={c.code: (c.pk, c.counts_as_volunteer_service) for c in Category.objects.all()},
        policies=policies,
        offsets=offsets,
        password_hash=password_hash,
    )


@dataclass
class Stats:
    rows: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    phases: dict[str, float] = field(default_factory=dict)
    details: dict[str, float] = field(default_factory=dict)  # each index or constraint rebuilt

    def add(self, table: str, rows: int, seconds: float) -> None:
        self.rows[table] = self.rows.get(table, 0) + rows
        self.seconds[table] = self.seconds.get(table, 0.0) + seconds


class Loader:
    def __init__(self, *, chunk_rows: int = 200_000, drop_indexes: bool = False):
        self.chunk_rows = chunk_rows
        self.postgres = connection.vendor == "postgresql"
        self.drop_indexes = drop_indexes and self.postgres
        self.stats = Stats()
        self.saved: dict[str, tuple[list, list]] = {}

    def run(self, rows) -> Stats:
        """Write every (table, row) of `rows`; call inside `transaction.atomic()`."""
        check_columns()
        started = time.monotonic()
        if self.postgres:
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL TIME ZONE 'UTC'")
                cursor.execute("SET LOCAL synchronous_commit = off")
        if self.drop_indexes:
            self.timed("drop indexes", lambda: [self.drop(t) for t in BIG_TABLES])
        buffers: dict[str, list] = {t: [] for t in ORDER}
        pending = 0
        for table, row in rows:
            buffers[table].append(row)
            pending += 1
            if pending >= self.chunk_rows:
                self.flush(buffers)
                pending = 0
        self.flush(buffers)
        if self.drop_indexes:
            self.timed("rebuild indexes", lambda: [self.restore(t) for t in BIG_TABLES])
        self.timed("reset sequences", self.reset_sequences)
        self.timed("analyze", self.analyze)
        self.stats.phases["total"] = time.monotonic() - started
        written = (
            sum(self.stats.seconds.values())
            + sum(self.stats.phases.values())
            - (self.stats.phases["total"])
        )
        self.stats.phases["generate (python)"] = self.stats.phases["total"] - written
        return self.stats

    def timed(self, phase: str, work) -> None:
        started = time.monotonic()
        work()
        self.stats.phases[phase] = self.stats.phases.get(phase, 0.0) + time.monotonic() - started

    def flush(self, buffers: dict[str, list]) -> None:
        for table in ORDER:
            rows = buffers[table]
            if not rows:
                continue
            started = time.monotonic()
            columns = COLUMNS[table]
            names = ", ".join(connection.ops.quote_name(c) for c in columns)
            name = connection.ops.quote_name(db_table(table))
            with connection.cursor() as cursor:
                if self.postgres:
                    with cursor.cursor.copy(f"COPY {name} ({names}) FROM STDIN") as copy:
                        for row in rows:
                            copy.write_row(row)
                else:
                    marks = ", ".join(["%s"] * len(columns))
                    cursor.executemany(f"INSERT INTO {name} ({names}) VALUES ({marks})", rows)
            self.stats.add(table, len(rows), time.monotonic() - started)
            buffers[table] = []

    def drop(self, table: str) -> None:
        name = db_table(table)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT conname, contype, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conrelid = %s::regclass AND contype IN ('u', 'f') ORDER BY contype DESC",
                [name],
            )
            constraints = cursor.fetchall()
            cursor.execute(
                "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() "
                "AND tablename = %s AND indexname NOT IN "
                "(SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass)",
                [name, name],
            )
            indexes = cursor.fetchall()
            for conname, _, _ in constraints:
                cursor.execute(f'ALTER TABLE "{name}" DROP CONSTRAINT "{conname}"')
            for indexname, _ in indexes:
                cursor.execute(f'DROP INDEX "{indexname}"')
        self.saved[table] = (constraints, indexes)

    def restore(self, table: str) -> None:
        constraints, indexes = self.saved.pop(table)
        name = db_table(table)
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL maintenance_work_mem = '1GB'")
            cursor.execute("SET LOCAL max_parallel_maintenance_workers = 2")
            for indexname, indexdef in indexes:
                started = time.monotonic()
                cursor.execute(indexdef)
                self.stats.details[f"index {indexname}"] = time.monotonic() - started
            for conname, _, definition in constraints:  # unique ones first, then foreign keys
                started = time.monotonic()
                cursor.execute(f'ALTER TABLE "{name}" ADD CONSTRAINT "{conname}" {definition}')
                self.stats.details[f"constraint {conname}"] = time.monotonic() - started

    def reset_sequences(self) -> None:
        sql = connection.ops.sequence_reset_sql(no_style(), [model_of(t) for t in ORDER])
        with connection.cursor() as cursor:
            for statement in sql:
                cursor.execute(statement)

    def analyze(self) -> None:
        with connection.cursor() as cursor:
            if self.postgres:
                for table in ORDER:
                    cursor.execute(f'ANALYZE "{db_table(table)}"')
            else:
                cursor.execute("ANALYZE")
