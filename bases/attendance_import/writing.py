"""Writing a confirmed sheet's fresh rows in bulk: two scans and one attendance a row.

A fresh row is one whose student has neither an attendance nor a scan at the session yet (the
confirmation checked that under the sessions' locks). For such a row the scan service would
record exactly this: both scans, and an attendance from the check-in to the check-out linked to
the student's application (`attendance_build`, `scan_digest`), so it is written here directly,
in one statement a table (COPY on PostgreSQL). Rows with something recorded already go through
`attendance_scans_record`, which pairs the scans with what is there.

The caller runs this in a savepoint: a nonce another writer recorded meanwhile fails the whole
insert (the unique constraint), and the rows then go through the scan service one by one.
"""

from datetime import datetime

from django.db import connection, models

from portal.models import User

from ..models import Attendance, AttendanceScan, ScanKind
from ..services.attendance import attendance_build, scan_digest
from .planning import PlannedRow

# What differs from row to row; the other columns are the same for the whole sheet.
SCAN_COLUMNS = ("nonce", "session_id", "student_id", "kind", "happened_at", "payload_digest")
ATTENDANCE_COLUMNS = (
    "session_id",
    "student_id",
    "application_id",
    "checked_in_at",
    "checked_out_at",
)


def _insert(
    model: type[models.Model], template: models.Model, names: tuple[str, ...], rows: list[tuple]
) -> None:
    """Insert one row per tuple of values for `names`; the other columns take the template's."""
    if not rows:
        return
    fields = {f.attname: f for f in model._meta.concrete_fields if not f.primary_key}
    if connection.vendor != "postgresql":
        objects = []
        for values in rows:
            item = model(**{name: getattr(template, name) for name in fields})
            for name, value in zip(names, values, strict=True):
                setattr(item, name, value)
            objects.append(item)
        model.objects.bulk_create(objects, batch_size=500)
        return
    shared = [name for name in fields if name not in names]
    constants = tuple(getattr(template, name) for name in shared)
    quote = connection.ops.quote_name
    sql = "COPY {} ({}) FROM STDIN".format(
        quote(model._meta.db_table),
        ", ".join(quote(fields[name].column) for name in (*names, *shared)),
    )
    with (
        connection.cursor() as cursor,
        connection.wrap_database_errors,
        cursor.cursor.copy(sql) as copy,
    ):
        for values in rows:
            copy.write_row(values + constants)


def attendance_rows_write(
    *,
    rows: list[PlannedRow],
    applications: dict[tuple[int, int], int],
    source: str,
    recorded_by: User | None,
    now: datetime,
) -> None:
    """Record the fresh rows' scans and attendance; `applications` by (session, student)."""
    if not rows:
        return
    first = rows[0]
    # Each table's values that every row shares, from the one place each row is built.
    attendance = attendance_build(
        session=first.session,
        student=first.student,
        application=None,
        recorded_via=source,
        recorded_by=recorded_by,
    )
    attendance.updated_at = now
    scan = AttendanceScan(
        session=first.session,
        student=first.student,
        source=source,
        recorded_by=recorded_by,
        received_at=now,
    )
    scans, attendances = [], []
    check_in, check_out = ScanKind.CHECK_IN, ScanKind.CHECK_OUT
    for row in rows:
        session_id, student_id = row.session.pk, row.student.pk
        for kind, at, nonce in (
            (check_in, row.check_in, row.nonces[0]),
            (check_out, row.check_out, row.nonces[1]),
        ):
            digest = scan_digest(
                session_id=session_id, student_id=student_id, kind=kind, happened_at=at
            )
            scans.append((nonce, session_id, student_id, kind.value, at, digest))
        attendances.append(
            (
                session_id,
                student_id,
                applications[(session_id, student_id)],
                row.check_in,
                row.check_out,
            )
        )
    _insert(AttendanceScan, scan, SCAN_COLUMNS, scans)
    _insert(Attendance, attendance, ATTENDANCE_COLUMNS, attendances)
