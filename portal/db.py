"""Database helpers shared by the services.

`prepared_statements`: on PostgreSQL, the statements run inside it bind their parameters on the
server (psycopg's `Cursor` instead of the `ClientCursor` Django uses by default), so a statement
whose text repeats with other parameters is the same statement to psycopg, which prepares it on
the connection after `prepare_threshold` runs (portal.settings): PostgreSQL then no longer plans
it each time. Meant for a hot path whose statements keep one shape (the apply rush); the rest of
the portal keeps Django's default, client-side binding.
"""

from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from django.db import connection


@contextmanager
def prepared_statements():
    if connection.vendor != "postgresql":
        yield
        return
    from django.db.backends.postgresql.base import ServerBindingCursor

    connection.ensure_connection()
    raw = connection.connection
    previous = raw.cursor_factory
    raw.cursor_factory = ServerBindingCursor
    try:
        yield
    finally:
        raw.cursor_factory = previous


def _stand_in(value, index: int):
    """A value of `value`'s type that no row holds, to find where a parameter lands."""
    if isinstance(value, datetime):
        return datetime(2, 1, 1, tzinfo=UTC) + timedelta(seconds=index)
    if type(value) is int:
        return -2_000_000_001 - index
    raise TypeError(f"No stand-in for {value!r}")


class CompiledSQL:
    """A queryset compiled to SQL once per process and database (the ORM's compiling is most of
    the Python an apply costs), then run with other values: `build(**values)` makes the
    queryset; it is called once with a stand-in for each value (ints and datetimes), whose
    places among the parameters are then filled with the real values on every call. The text
    stays the same, so `prepared_statements` prepares it too. A value that changes the SQL's
    shape (None, a flag) needs a `CompiledSQL` of its own."""

    def __init__(self, build):
        self.build = build
        self.compiled: dict[tuple, tuple] = {}

    def _compile(self, values: dict) -> tuple:
        stand_ins = {name: _stand_in(values[name], i) for i, name in enumerate(sorted(values))}
        queryset = self.build(**stand_ins)
        compiler = queryset.query.get_compiler(using=connection.alias)
        sql, params = compiler.as_sql()
        slots = []
        for param in params:
            name = next(
                (n for n, v in stand_ins.items() if type(param) is type(v) and param == v), None
            )
            slots.append((name, param))
        missing = set(values) - {name for name, _param in slots}
        if missing:  # e.g. a database whose backend converts the value first
            raise ValueError(f"{sorted(missing)} not among the parameters of {sql}")
        return sql, slots, compiler

    def _compiled(self, values: dict) -> tuple:
        key = (connection.alias, connection.vendor, *sorted(values))
        if key not in self.compiled:
            self.compiled[key] = self._compile(values)
        return self.compiled[key]

    def sql_with_params(self, **values) -> tuple[str, list]:
        sql, slots = self._compiled(values)[:2]
        return sql, [param if name is None else values[name] for name, param in slots]


class CompiledGet(CompiledSQL):
    """A `CompiledSQL` of a one-row queryset, `get` as the queryset would: the instance with its
    `select_related` objects and annotations, made by the compiler kept from the first time."""

    def _compile(self, values: dict) -> tuple:
        from django.db.models.query import get_related_populators

        sql, slots, compiler = super()._compile(values)
        select, klass_info = compiler.select, compiler.klass_info
        start, end = klass_info["select_fields"][0], klass_info["select_fields"][-1] + 1
        fields = [column[0] for column in select[: compiler.col_count]]
        return (
            sql,
            slots,
            compiler,
            {
                "converters": compiler.get_converters(fields),
                "model": klass_info["model"],
                "init_list": [column[0].target.attname for column in select[start:end]],
                "span": (start, end),
                "populators": get_related_populators(klass_info, select, connection.alias),
                "annotations": compiler.annotation_col_map,
            },
        )

    def get(self, **values):
        sql, slots, compiler, how = self._compiled(values)
        model, (start, end) = how["model"], how["span"]
        params = [param if name is None else values[name] for name, param in slots]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchmany(2)
        if not rows:
            raise model.DoesNotExist(f"{model._meta.object_name} matching query does not exist.")
        if len(rows) > 1:
            raise model.MultipleObjectsReturned(f"More than one {model._meta.object_name}.")
        if how["converters"]:
            rows = list(compiler.apply_converters(rows, how["converters"]))
        row = rows[0]
        obj = model.from_db(connection.alias, how["init_list"], row[start:end])
        for populator in how["populators"]:
            populator.populate(row, obj)
        for name, position in how["annotations"].items():
            setattr(obj, name, row[position])
        return obj
