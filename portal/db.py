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
