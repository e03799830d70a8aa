"""Database helpers shared by the services.

`prepared_statements`: on PostgreSQL, the statements run inside it bind their parameters on the
server (psycopg's `Cursor` instead of the `ClientCursor` Django uses by default), so a statement
whose text repeats with other parameters is the same statement to psycopg, which prepares it on
the connection after `prepare_threshold` runs (portal.settings): PostgreSQL then no longer plans
it each time. Meant for a hot path whose statements keep one shape (the apply rush); the rest of
the portal keeps Django's default, client-side binding.
"""

from contextlib import contextmanager

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


class CompiledGet:
    """A one-row queryset compiled to SQL once per process (the ORM's compiling is most of the
    Python an apply costs), then run with other values: `build(**values)` makes the queryset,
    called once with a stand-in int for each value, whose places among the parameters are then
    filled with the real ones on every `get`. The rows become instances as the queryset itself
    would make them (`select_related` objects, annotations), through the compiler kept from the
    first time; the SQL text stays the same, so `prepared_statements` prepares it too."""

    _STAND_INS = range(-2_000_000_001, -2_000_000_101, -1)  # ints no column holds

    def __init__(self, build):
        self.build = build
        self.compiled: dict[str, tuple] = {}

    def _compile(self, names: list[str]) -> tuple:
        from django.db.models.query import get_related_populators

        stand_ins = dict(zip(names, self._STAND_INS, strict=False))
        queryset = self.build(**stand_ins)
        queryset.query.set_limits(high=2)
        compiler = queryset.query.get_compiler(using=connection.alias)
        sql, params = compiler.as_sql()
        by_value = {value: name for name, value in stand_ins.items()}
        slots = [(by_value.get(param) if type(param) is int else None, param) for param in params]
        missing = set(names) - {name for name, _param in slots}
        if missing:
            raise ValueError(f"{sorted(missing)} not among the parameters of {sql}")
        select, klass_info = compiler.select, compiler.klass_info
        start, end = klass_info["select_fields"][0], klass_info["select_fields"][-1] + 1
        fields = [column[0] for column in select[: compiler.col_count]]
        return (
            sql,
            slots,
            compiler,
            compiler.get_converters(fields),
            klass_info["model"],
            [column[0].target.attname for column in select[start:end]],
            (start, end),
            get_related_populators(klass_info, select, connection.alias),
            compiler.annotation_col_map,
        )

    def get(self, **values):
        key = f"{connection.alias}:{connection.vendor}"
        if key not in self.compiled:
            self.compiled[key] = self._compile(sorted(values))
        (
            sql,
            slots,
            compiler,
            converters,
            model,
            init_list,
            (start, end),
            populators,
            annotations,
        ) = self.compiled[key]
        params = [param if name is None else values[name] for name, param in slots]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        if not rows:
            raise model.DoesNotExist(f"{model._meta.object_name} matching query does not exist.")
        if len(rows) > 1:
            raise model.MultipleObjectsReturned(f"More than one {model._meta.object_name}.")
        if converters:
            rows = list(compiler.apply_converters(rows, converters))
        row = rows[0]
        obj = model.from_db(connection.alias, init_list, row[start:end])
        for populator in populators:
            populator.populate(row, obj)
        for name, position in annotations.items():
            setattr(obj, name, row[position])
        return obj
