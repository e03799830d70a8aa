"""Keeping a checked sheet, and importing it all or nothing through the attendance service."""

import hashlib
import uuid
from collections import defaultdict
from functools import partial

from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.models import User
from portal.outbox import task_enqueue
from portal.services import audit_log_record
from portal.sheet_problems import RowError, file_problem, missing_columns_problem, problems_json
from portal.uploads import CSV, XLSX, ZIP_MAGIC
from students.models import (
    RecordedVia,
)

from ..errors import BaseError
from ..messages import SHEET_CHANGED, SHEET_NO_ROWS
from ..models import (
    AttendanceImport,
    Base,
    Coordinator,
    ImportStatus,
    Session,
)
from ..services.attendance import (
    attendance_scans_record,
)
from .checking import attendance_rows_check, attendance_rows_recheck
from .limits import (
    CONFIRM_CHUNK,
    MAX_ERRORS_STORED,
    MAX_UPLOAD_BYTES,
)
from .planning import CheckResult, PlannedRow
from .reading import ImportRefused, Sheet, read_sheet
from .staging import (
    Staged,
    rows_stage,
    rows_unstage,
    stage_delete,
    stage_read,
    stage_save,
    staged_load,
)
from .writing import attendance_rows_write


# ------------------------------------------------------------------------------
# Services
# ------------------------------------------------------------------------------
def _check_coordinator(*, user: User, base: Base) -> None:
    if not Coordinator.objects.filter(user=user, base=base).exists():
        raise BaseError(
            _("Only the base's coordinators may import its attendance."), code="not_authorised"
        )


def _errors_json(errors: list[RowError]) -> list[dict]:
    return problems_json(errors, keep=MAX_ERRORS_STORED)


def _sheet_problems(sheet: Sheet) -> list[dict]:
    if sheet.missing_columns:
        return missing_columns_problem(sheet.missing_columns)
    if not sheet.rows:
        return file_problem("no_rows", SHEET_NO_ROWS())
    return []


def attendance_import_refusal_log(
    *, base: Base, uploaded_by: User, error: ImportRefused, size: int, sha256: str = ""
) -> None:
    """Keep a trace of a refused file (never the file itself)."""
    audit_log_record(
        actor=uploaded_by,
        action="attendance_import.refuse",
        target=base,
        data={"code": error.code, "size": size, "sha256": sha256, "rows_read": error.rows_read},
    )


def attendance_import_preview(
    *, base: Base, content: bytes, original_name: str, uploaded_by: User
) -> AttendanceImport:
    """Read and check a sheet (the dry run) and keep it for confirmation.

    Unsafe or oversized files raise ImportRefused and nothing is kept. A readable file is kept
    (under a random name) as `previewed`, with `created_count` the rows it would add, or as
    `refused` with its errors by row and column. Only the storing is a transaction: the
    checks only read, and on SQLite a transaction would keep every other writer waiting.
    """
    _check_coordinator(user=uploaded_by, base=base)
    sheet = read_sheet(content)
    errors = _sheet_problems(sheet)
    result = None
    if not errors:
        result = attendance_rows_check(base=base, rows=sheet.rows)
        errors = _errors_json(result.errors)
    kind = XLSX if content.startswith(ZIP_MAGIC) else CSV
    attendance_import = AttendanceImport(
        base=base,
        original_name=(original_name or "")[:200],
        sha256=hashlib.sha256(content).hexdigest(),
        status=ImportStatus.REFUSED if errors else ImportStatus.PREVIEWED,
        row_count=len(sheet.rows),
        created_count=len(result.new_rows) if result and not errors else 0,
        errors=errors,
        uploaded_by=uploaded_by,
    )
    attendance_import.file.save(f"{uuid.uuid4().hex}.{kind}", ContentFile(content), save=False)
    with transaction.atomic():
        attendance_import.save()
        if not errors:
            stage_save(
                attendance_import, rows_stage(result.planned, sha256=attendance_import.sha256)
            )
        _preview_audit(attendance_import, result=result, errors=errors)
    return attendance_import


def _preview_audit(
    attendance_import: AttendanceImport, *, result: CheckResult | None, errors: list[dict]
) -> None:
    audit_log_record(
        actor=attendance_import.uploaded_by,
        action="attendance_import.preview",
        target=attendance_import,
        data={
            "status": attendance_import.status,
            "rows": attendance_import.row_count,
            "new_rows": attendance_import.created_count,
            "errors": len(result.errors) if result else len(errors),
            "sha256": attendance_import.sha256,
        },
    )


class _Refusal(Exception):
    def __init__(self, errors: list[dict]):
        self.errors = errors


# A sheet may be confirmed while previewed, or by the worker once queued.
CONFIRMABLE = (ImportStatus.PREVIEWED, ImportStatus.IMPORTING)
# Larger sheets are imported by the worker while the page shows progress.
BACKGROUND_ROWS = 300


@transaction.atomic
def attendance_import_queue(
    *, attendance_import: AttendanceImport, confirmed_by: User
) -> AttendanceImport:
    """Hand a previewed sheet to the worker; the import page shows it as importing."""
    # The task calls this module's confirm: importing it at the top would be a cycle.
    from ..tasks import attendance_import_confirm as confirm_task

    locked = (
        AttendanceImport.objects.select_for_update(of=("self",))
        .select_related("base")
        .get(pk=attendance_import.pk)
    )
    _check_coordinator(user=confirmed_by, base=locked.base)
    if locked.status != ImportStatus.PREVIEWED:
        return locked
    locked.status = ImportStatus.IMPORTING
    locked.save(update_fields=["status"])
    audit_log_record(actor=confirmed_by, action="attendance_import.queue", target=locked)
    task_enqueue(confirm_task, import_id=locked.pk, user_id=confirmed_by.pk)
    return locked


def attendance_import_confirm(
    *, attendance_import: AttendanceImport, confirmed_by: User
) -> AttendanceImport:
    """Import a previewed sheet: all rows or none. Returns the import, `imported` or `refused`.

    The rows the preview checked were kept (`staging`, keyed by the file's digest):
    they are checked again under the sessions' locks against what may have changed since the
    preview (roster, session state and times, what is recorded, overlaps), in a few queries
    for the whole sheet. Rows already recorded are skipped; rows with nothing recorded yet are
    written in bulk, the others go through `attendance_scans_record`. A refusal keeps the
    reasons on the import. Confirming an imported sheet again does nothing.
    """
    try:
        # Reading the stored rows is pure work on bytes: done before the transaction opens.
        staged = _staged(attendance_import)
        with transaction.atomic():
            return _confirm(
                attendance_import=attendance_import, staged=staged, confirmed_by=confirmed_by
            )
    except _Refusal as refusal:
        with transaction.atomic():
            AttendanceImport.objects.filter(pk=attendance_import.pk, status__in=CONFIRMABLE).update(
                status=ImportStatus.REFUSED, errors=refusal.errors, created_count=0
            )
            transaction.on_commit(partial(stage_delete, attendance_import))
            attendance_import.refresh_from_db()
            audit_log_record(
                actor=confirmed_by,
                action="attendance_import.refuse",
                target=attendance_import,
                data={"errors": len(refusal.errors)},
            )
        return attendance_import


def _staged(attendance_import: AttendanceImport) -> Staged | None:
    """The previewed rows in their stored form, if the stored file is still the one checked.

    An import whose kept rows are missing or cannot be trusted is read and checked again.
    """
    if attendance_import.status not in CONFIRMABLE:
        return None
    with attendance_import.file.open("rb") as stored:
        content = stored.read(MAX_UPLOAD_BYTES + 1)
    if hashlib.sha256(content).hexdigest() != attendance_import.sha256:
        raise _Refusal(file_problem("changed", SHEET_CHANGED()))
    staged = stage_read(attendance_import)
    if staged is not None:
        return staged
    sheet = _sheet_of(content)
    result = attendance_rows_check(base=attendance_import.base, rows=sheet.rows)
    if result.errors:
        raise _Refusal(_errors_json(result.errors))
    return staged_load(rows_stage(result.planned, sha256=attendance_import.sha256))


def _sheet_of(content: bytes) -> Sheet:
    try:
        sheet = read_sheet(content)
    except ImportRefused as error:
        raise _Refusal(file_problem(error.code, error.messages[0])) from None
    problems = _sheet_problems(sheet)
    if problems:
        raise _Refusal(problems)
    return sheet


def _lock_sessions(session_ids: list[int]) -> dict[int, Session]:
    """The sessions, locked in id order as every writer of their attendance locks them."""
    return {
        session.pk: session
        for session in Session.objects.select_for_update(of=("self",))
        .filter(pk__in=session_ids)
        .select_related("post__base__district", "post__category")
        .order_by("pk")
    }


def _confirm(
    *, attendance_import: AttendanceImport, staged: Staged | None, confirmed_by: User
) -> AttendanceImport:
    locked = (
        AttendanceImport.objects.select_for_update(of=("self",))
        .select_related("base")
        .get(pk=attendance_import.pk)
    )
    _check_coordinator(user=confirmed_by, base=locked.base)
    if locked.status == ImportStatus.IMPORTED:
        return locked
    if locked.status not in CONFIRMABLE or staged is None:
        raise BaseError(
            _("This file was refused; fix it and upload it again."), code="import_refused"
        )
    stage = staged
    sessions = _lock_sessions(stage.session_ids)
    planned, gone = rows_unstage(staged=stage, sessions=sessions)
    result = attendance_rows_recheck(
        base=locked.base, planned=planned, unchanged_sessions=stage.unchanged_sessions(sessions)
    )
    if gone or result.errors:
        raise _Refusal(_errors_json(sorted([*gone, *result.errors], key=lambda e: e.row)))
    new_rows = result.new_rows
    fresh = [row for row in new_rows if (row.session.pk, row.student.pk) not in result.recorded]
    others = [row for row in new_rows if (row.session.pk, row.student.pk) in result.recorded]
    try:
        with transaction.atomic():
            attendance_rows_write(
                rows=fresh,
                applications=result.applications,
                source=RecordedVia.IMPORT,
                recorded_by=confirmed_by,
                now=timezone.now(),
            )
    except IntegrityError:
        # Another writer recorded one of the nonces meanwhile: every row scan by scan.
        others = new_rows
    failures = _record_through_scans(others, confirmed_by=confirmed_by)
    if failures:
        raise _Refusal(_errors_json(sorted(failures, key=lambda e: e.row)))
    locked.status = ImportStatus.IMPORTED
    locked.created_count = len(new_rows)
    locked.imported_at = timezone.now()
    locked.errors = []
    locked.save(update_fields=["status", "created_count", "imported_at", "errors"])
    transaction.on_commit(partial(stage_delete, locked))
    audit_log_record(
        actor=confirmed_by,
        action="attendance_import.confirm",
        target=locked,
        data={
            "rows": locked.row_count,
            "rows_added": len(new_rows),
            "repeats": locked.row_count - len(new_rows),
            "sessions": sorted({row.session.pk for row in new_rows}),
        },
    )
    return locked


def _record_through_scans(rows: list[PlannedRow], *, confirmed_by: User) -> list[RowError]:
    """Rows with something recorded at their session already, through the scan service."""
    by_session: dict[int, list[PlannedRow]] = defaultdict(list)
    for row in rows:
        by_session[row.session.pk].append(row)
    failures: list[RowError] = []
    for session_id in sorted(by_session):
        session_rows = by_session[session_id]
        for start in range(0, len(session_rows), CONFIRM_CHUNK):
            chunk = session_rows[start : start + CONFIRM_CHUNK]
            batch = attendance_scans_record(
                session=chunk[0].session,
                scans=[scan for row in chunk for scan in row.scans()],
                source=RecordedVia.IMPORT,
                recorded_by=confirmed_by,
            )
            for (index, code, _text), message in zip(batch.errors, batch.kept, strict=True):
                row = chunk[index // 2]
                column = "check_in" if index % 2 == 0 else "check_out"
                failures.append(RowError(row.number, column, code, message))
    return failures
