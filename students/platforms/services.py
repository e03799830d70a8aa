"""Keeping a checked export, importing it whole, and the school's decision on an overlap."""

import hashlib
import logging
import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import InterfaceError, OperationalError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.models import User
from portal.outbox import task_enqueue
from portal.services import audit_log_record, notification_send, notification_send_bulk
from portal.sheet_problems import file_problem, missing_columns_problem, problems_json
from portal.uploads import CSV, XLSX, ZIP_MAGIC, UploadRefused

from ..messages import (
    PLATFORM_CHANGED,
    PLATFORM_IMPORT_FAILED,
    PLATFORM_NO_ROWS,
    PLATFORM_OVERLAPS,
    PLATFORM_REJECTED,
    PLATFORM_REVIEWED,
    PLATFORM_TO_REVIEW,
)
from ..models import (
    Category,
    OrganiserLevel,
    Platform,
    PlatformImport,
    PlatformImportStatus,
    PlatformRecord,
    PlatformRecordStatus,
    RecordedVia,
    School,
    Student,
    TeacherAssignment,
    TeacherRole,
)
from ..organisers import SCHOOL, organiser_ref
from ..services import (
    OVERLAPS,
    RecordFacts,
    practice_record_revoke,
    practice_record_upsert,
    practice_records_create_bulk,
)
from .planning import ALREADY, PlatformPlan, platform_plan, row_from_json
from .reading import MAX_UPLOAD_BYTES, PlatformRow, PlatformSheet, read_platform_sheet

logger = logging.getLogger(__name__)

MAX_ERRORS_STORED = 1_000
SOURCE_PREFIX = "platform:"
#: Records from volunteer platforms are volunteer service.
CATEGORY_CODE = "volunteer_service"


class PlatformImportError(ValidationError):
    """An import action refused as a whole, with a machine-readable `code`."""


def platform_source_ref(*, platform: str, original_id: str) -> str:
    """The ledger's key of a platform record: the natural key (platform, the platform's id)."""
    return f"{SOURCE_PREFIX}{platform}:{original_id}"


def _is_admin(user: User, school: School) -> bool:
    return TeacherAssignment.objects.filter(
        user=user, school=school, role=TeacherRole.SCHOOL_ADMIN
    ).exists()


def _check_admin(*, user: User, school: School) -> None:
    if not _is_admin(user, school):
        raise PlatformImportError(
            _("Only the school's admins may import records from other platforms."),
            code="not_authorised",
        )


def _school_admins(school: School):
    return User.objects.filter(
        teacher_assignments__school=school,
        teacher_assignments__role=TeacherRole.SCHOOL_ADMIN,
        is_active=True,
    ).distinct()


def _sheet_problems(sheet: PlatformSheet) -> list[dict]:
    if sheet.missing_columns:
        return missing_columns_problem(sheet.missing_columns)
    if not sheet.rows:
        return file_problem("no_rows", PLATFORM_NO_ROWS())
    return []


def _check(upload_school, platform, content, student) -> tuple[PlatformPlan | None, list, int]:
    sheet = read_platform_sheet(content, platform=platform)
    errors = _sheet_problems(sheet)
    if errors:
        return None, errors, len(sheet.rows)
    plan = platform_plan(school=upload_school, platform=platform, rows=sheet.rows, student=student)
    ordered = sorted(plan.errors, key=lambda e: (e.row or 0, e.column))
    return plan, problems_json(ordered, keep=MAX_ERRORS_STORED), len(sheet.rows)


def platform_import_preview(
    *,
    school: School,
    platform: str,
    content: bytes,
    original_name: str,
    uploaded_by: User,
    student: Student | None = None,
) -> PlatformImport:
    """Read and check an export (the dry run) and keep it for confirmation; nothing else is
    written. `student`: a student's own records, which then wait for the school's review. An
    unsafe file raises UploadRefused (audited) and nothing is kept."""
    if student is None:
        _check_admin(user=uploaded_by, school=school)
    elif student.user_id != uploaded_by.pk or student.school_class.school_id != school.pk:
        raise PlatformImportError(_("Upload only your own records."), code="not_authorised")
    if platform not in Platform.values:
        raise PlatformImportError(_("Choose the platform."), code="bad_platform")
    digest = hashlib.sha256(content).hexdigest()
    upload = PlatformImport(
        school=school,
        platform=platform,
        student=student,
        original_name=(original_name or "")[:200],
        sha256=digest,
        status=PlatformImportStatus.CHECKING,
        uploaded_by=uploaded_by,
    )
    if len(content) > BACKGROUND_BYTES:
        from ..tasks import platform_import_check as check_task  # the task calls this module

        _keep_file(upload, content)
        upload.queued_at = timezone.now()
        with transaction.atomic():
            upload.save()
            audit_log_record(
                actor=uploaded_by,
                action="platform_import.queue_check",
                target=upload,
                data={"size": len(content), "sha256": digest, "platform": platform},
            )
            task_enqueue(check_task, import_id=upload.pk)
        return upload
    try:
        _checked(upload, content)
    except UploadRefused as error:
        with transaction.atomic():
            audit_log_record(
                actor=uploaded_by,
                action="platform_import.refuse",
                target=school,
                data={"code": error.code, "size": len(content), "sha256": digest},
            )
        raise
    _keep_file(upload, content)
    with transaction.atomic():
        upload.save()
        _checked_tell(upload)
    return upload


def _keep_file(upload: PlatformImport, content: bytes) -> None:
    kind = XLSX if content.startswith(ZIP_MAGIC) else CSV
    upload.file.save(f"{uuid.uuid4().hex}.{kind}", ContentFile(content), save=False)


def _checked(upload: PlatformImport, content: bytes) -> None:
    """Read and check the export; what it would add, or its problems, set on `upload`."""
    plan, errors, rows = _check(upload.school, upload.platform, content, upload.student)
    if errors:
        upload.status = PlatformImportStatus.REFUSED
    elif upload.student is not None:
        upload.status = PlatformImportStatus.AWAITING_REVIEW
    else:
        upload.status = PlatformImportStatus.PREVIEWED
    upload.row_count = rows
    upload.summary = plan.summary if plan and not errors else {}
    upload.preview = [p.as_json() for p in plan.rows] if plan and not errors else []
    upload.errors = errors


def _checked_tell(upload: PlatformImport) -> None:
    audit_log_record(
        actor=upload.uploaded_by,
        action="platform_import.preview",
        target=upload,
        data={"status": upload.status, "rows": upload.row_count, "errors": len(upload.errors),
              "sha256": upload.sha256, "platform": upload.platform, **upload.summary},
    )  # fmt: skip
    if upload.status == PlatformImportStatus.AWAITING_REVIEW:
        params = {
            "name": upload.student.name,
            "count": upload.row_count,
            "platform": upload.get_platform_display(),
        }
        notification_send_bulk(
            message=PLATFORM_TO_REVIEW,
            items=[(u, params, upload.get_absolute_url()) for u in _school_admins(upload.school)],
        )


def platform_import_check(*, upload: PlatformImport) -> PlatformImport:
    """The worker's preview of a large export (`platform_import_preview` queued it): the same
    checks, kept the same way. Running it twice checks once."""
    if upload.status != PlatformImportStatus.CHECKING:
        return upload
    with upload.file.open("rb") as stored:
        content = stored.read(MAX_UPLOAD_BYTES + 1)
    if hashlib.sha256(content).hexdigest() != upload.sha256:
        upload.status, upload.errors = (
            PlatformImportStatus.REFUSED,
            file_problem("changed", PLATFORM_CHANGED()),
        )
    else:
        try:
            _checked(upload, content)
        except UploadRefused as error:
            upload.status = PlatformImportStatus.REFUSED
            upload.errors = file_problem(error.code, error.messages[0])
    with transaction.atomic():
        updated = PlatformImport.objects.filter(
            pk=upload.pk, status=PlatformImportStatus.CHECKING
        ).update(
            status=upload.status,
            row_count=upload.row_count,
            summary=upload.summary,
            preview=upload.preview,
            errors=upload.errors,
        )
        if updated:
            _checked_tell(upload)
    upload.refresh_from_db()
    return upload


def _refuse(upload: PlatformImport, actor: User, errors: list[dict]) -> PlatformImport:
    with transaction.atomic():
        PlatformImport.objects.filter(pk=upload.pk, status__in=CONFIRMABLE).update(
            status=PlatformImportStatus.REFUSED, errors=errors, summary={}, preview=[]
        )
        upload.refresh_from_db()
        audit_log_record(
            actor=actor,
            action="platform_import.refuse",
            target=upload,
            data={"errors": len(errors)},
        )
    return upload


def platform_import_reject(*, upload: PlatformImport, rejected_by: User, reason: str) -> None:
    """The school refuses a student's upload with a reason; the student is told it."""
    _check_admin(user=rejected_by, school=upload.school)
    reason = " ".join(reason.split())
    if not reason:
        raise PlatformImportError(_("Give a reason: the student is told it."), code="reason")
    if upload.status != PlatformImportStatus.AWAITING_REVIEW:
        raise PlatformImportError(_("This upload is not waiting for review."), code="not_waiting")
    message = PLATFORM_REJECTED(reason=reason)
    upload = _refuse(upload, rejected_by, file_problem("rejected", message))
    if upload.student.user_id:
        notification_send(
            user=upload.student.user,
            message=PLATFORM_REJECTED,
            params={"reason": reason},
            url=upload.get_absolute_url(),
        )


def _facts(upload: PlatformImport, item: PlatformRecord, category: Category) -> RecordFacts:
    return RecordFacts(
        student=item.student,
        category=category,
        title=item.title,
        organiser_name=item.organiser_name,
        organiser_level=OrganiserLevel.OTHER,
        district=None,
        started_at=item.started_at,
        ended_at=item.ended_at,
        credited_minutes=item.minutes,
        recorded_via=RecordedVia.PLATFORM,
        # The school answers disputes about what it took in.
        organiser_ref=organiser_ref(SCHOOL, upload.school_id),
    )


#: Statuses a confirmation goes ahead from: waiting, or queued for the worker.
WAITING = (PlatformImportStatus.PREVIEWED, PlatformImportStatus.AWAITING_REVIEW)
CONFIRMABLE = (*WAITING, PlatformImportStatus.IMPORTING)
#: Larger exports are imported by the worker while the page shows the progress.
BACKGROUND_ROWS = 500
#: Larger files (about 2,000 rows of xlsx) are checked by the worker too.
BACKGROUND_BYTES = 100_000
PROGRESS_SECONDS = 3600


def _progress_key(upload_id: int) -> str:
    return f"platform-import:{upload_id}:progress"


def _progress_set(upload: PlatformImport, phase: str, done: int) -> None:
    # In the cache, not the database: the import's own transaction shows nothing until it ends.
    cache.set(
        _progress_key(upload.pk),
        {"phase": phase, "done": done, "total": upload.row_count},
        PROGRESS_SECONDS,
    )


def platform_import_progress(*, upload: PlatformImport) -> dict:
    """How far the worker is: phase (`queued`, `reading`, `writing`), rows done, rows in all."""
    found = cache.get(_progress_key(upload.pk)) or {}
    done, total = found.get("done", 0), upload.row_count
    return {
        "phase": found.get("phase", "queued"),
        "done": done,
        "total": total,
        "percent": min(100, done * 100 // total) if total else 0,
    }


@transaction.atomic
def platform_import_queue(*, upload: PlatformImport, confirmed_by: User) -> PlatformImport:
    """Hand a checked export to the worker (`students.tasks.platform_import_confirm`), queued
    through the outbox with this change; its page shows the progress until it is done."""
    from ..tasks import platform_import_confirm as confirm_task  # the task calls this module

    _check_admin(user=confirmed_by, school=upload.school)
    locked = PlatformImport.objects.select_for_update().get(pk=upload.pk)
    if locked.status not in WAITING:
        return locked
    locked.status = PlatformImportStatus.IMPORTING
    locked.confirmed_by = confirmed_by
    locked.queued_at = timezone.now()
    locked.save(update_fields=["status", "confirmed_by", "queued_at"])
    audit_log_record(actor=confirmed_by, action="platform_import.queue", target=locked)
    task_enqueue(confirm_task, import_id=locked.pk, user_id=confirmed_by.pk)
    return locked


def platform_imports_requeue_stale() -> list[int]:
    """Beat: queue again each check or confirmation left `checking` or `importing` past the
    stale limit (its worker died). Each imports, or checks, once however often it runs."""
    from ..tasks import platform_import_check as check_task
    from ..tasks import platform_import_confirm as confirm_task

    stale = timezone.now() - timedelta(seconds=settings.PLATFORM_IMPORT_STALE_SECONDS)
    queued = []
    for item in PlatformImport.objects.filter(
        status__in=(PlatformImportStatus.CHECKING, PlatformImportStatus.IMPORTING),
        queued_at__lt=stale,
    ).order_by("pk"):
        checking = item.status == PlatformImportStatus.CHECKING
        if not checking and item.confirmed_by_id is None:
            continue
        with transaction.atomic():
            claimed = PlatformImport.objects.filter(
                pk=item.pk, status=item.status, queued_at=item.queued_at
            ).update(queued_at=timezone.now())
            if not claimed:
                continue
            logger.warning("Platform import %s: its worker stopped; queueing it again.", item.pk)
            audit_log_record(
                actor=None,
                action="platform_import.requeue",
                target=item,
                data={"status": item.status, "confirmed_by": item.confirmed_by_id},
            )
            if checking:
                task_enqueue(check_task, import_id=item.pk)
            else:
                task_enqueue(confirm_task, import_id=item.pk, user_id=item.confirmed_by_id)
        queued.append(item.pk)
    return queued


class _Refusal(Exception):
    def __init__(self, errors: list[dict]):
        self.errors = errors


def platform_import_confirm(*, upload: PlatformImport, confirmed_by: User) -> PlatformImport:
    """Import a checked export (a student's, once the school reviewed it): every row or none.

    The stored file is read and checked once more. A row already imported (platform and record
    id) changes nothing; a row overlapping a live record of the student (or an earlier row of
    the file) is kept apart for the school's decision and credits nothing; every other row
    becomes a ledger record through `practice_records_create_bulk` (so the credit caps apply),
    with its provenance. A failure writes nothing and refuses the import with its reason.
    Confirming twice does nothing. Called in the request for small files, by the worker for
    large ones (`platform_import_queue`).
    """
    school = upload.school
    _check_admin(user=confirmed_by, school=school)
    if upload.status not in CONFIRMABLE:
        return upload
    try:
        _progress_set(upload, "reading", 0)
        rows = _stored_rows(upload)
        with transaction.atomic():
            return _confirm(upload, rows, confirmed_by)
    except _Refusal as refusal:
        return _refuse(upload, confirmed_by, refusal.errors)
    except (OperationalError, InterfaceError):
        raise  # the database is away: the import stays queued and beat queues it again
    except Exception as error:  # noqa: BLE001 - any failure: nothing written, the reason kept
        logger.exception("Platform import %s failed; nothing was written.", upload.pk)
        code = getattr(error, "code", "") or type(error).__name__
        return _refuse(
            upload, confirmed_by, file_problem("failed", PLATFORM_IMPORT_FAILED(error=code))
        )
    finally:
        cache.delete(_progress_key(upload.pk))


def _stored_rows(upload: PlatformImport) -> list[PlatformRow]:
    """The rows the preview checked (the file is read and checked once, by the preview); the
    stored file must still be the one checked."""
    with upload.file.open("rb") as stored:
        content = stored.read(MAX_UPLOAD_BYTES + 1)
    if hashlib.sha256(content).hexdigest() != upload.sha256:
        raise _Refusal(file_problem("changed", PLATFORM_CHANGED()))
    checked = upload.preview or []
    if checked and all("from" in found for found in checked):
        return [row_from_json(found) for found in checked]
    return _stored_sheet(upload, content).rows  # kept by an older version: read it again


def _stored_sheet(upload: PlatformImport, content: bytes) -> PlatformSheet:
    try:
        sheet = read_platform_sheet(content, platform=upload.platform)
    except UploadRefused as error:
        raise _Refusal(file_problem(error.code, error.messages[0])) from None
    problems = _sheet_problems(sheet)
    if problems:
        raise _Refusal(problems)
    return sheet


def _confirm(upload: PlatformImport, rows: list[PlatformRow], confirmed_by: User) -> PlatformImport:
    locked = (
        PlatformImport.objects.select_for_update(of=("self",))
        .select_related("school", "student")
        .get(pk=upload.pk)
    )
    if locked.status not in CONFIRMABLE:
        return locked
    plan = platform_plan(
        school=locked.school, platform=locked.platform, rows=rows, student=locked.student
    )
    if plan.errors:
        ordered = sorted(plan.errors, key=lambda e: (e.row or 0, e.column))
        raise _Refusal(problems_json(ordered, keep=MAX_ERRORS_STORED))
    category = Category.objects.get(code=CATEGORY_CODE)
    fresh = [planned for planned in plan.rows if planned.outcome != ALREADY]
    items = [_item(locked, planned, confirmed_by) for planned in fresh]
    _progress_set(locked, "writing", len(plan.rows) - len(fresh))
    outcomes = practice_records_create_bulk(
        items=[
            (
                platform_source_ref(platform=locked.platform, original_id=item.original_id),
                _facts(locked, item, category),
            )
            for item in items
        ],
        recorded_by=confirmed_by,
        progress=lambda done: _progress_set(locked, "writing", len(plan.rows) - len(fresh) + done),
    )
    counts = {"credited": 0, "overlap": 0, "already": len(plan.rows) - len(fresh)}
    for item, (outcome, record) in zip(items, outcomes, strict=True):
        if outcome == OVERLAPS:
            item.status, item.overlaps = PlatformRecordStatus.OVERLAP, record
            counts["overlap"] += 1
        else:
            item.status, item.record = PlatformRecordStatus.CREDITED, record
            counts["credited"] += 1
    PlatformRecord.objects.bulk_create(items, batch_size=1000)
    locked.status = PlatformImportStatus.IMPORTED
    locked.imported_at = timezone.now()
    locked.confirmed_by = confirmed_by
    locked.summary = {**plan.summary, **counts}
    locked.errors = []
    locked.save(update_fields=["status", "imported_at", "confirmed_by", "summary", "errors"])
    audit_log_record(
        actor=confirmed_by,
        action="platform_import.confirm",
        target=locked,
        data={"rows": locked.row_count, "sha256": locked.sha256, **counts},
    )
    platform_name = locked.get_platform_display()
    if counts["overlap"]:
        params = {"count": counts["overlap"], "platform": platform_name}
        url = reverse("students:platform-overlaps", args=[locked.school_id])
        notification_send_bulk(
            message=PLATFORM_OVERLAPS,
            items=[(u, params, url) for u in _school_admins(locked.school)],
        )
    if locked.student_id and locked.student.user_id:
        notification_send(
            user=locked.student.user,
            message=PLATFORM_REVIEWED,
            params={"platform": platform_name},
            url=locked.get_absolute_url(),
        )
    return locked


def _item(upload: PlatformImport, planned, confirmed_by: User) -> PlatformRecord:
    row = planned.row
    return PlatformRecord(
        platform=upload.platform,
        original_id=row.record_id,
        upload=upload,
        sha256=upload.sha256,
        imported_by=confirmed_by,
        student=planned.student,
        volunteer_number=row.volunteer_number,
        title=row.activity,
        organiser_name=row.organiser or upload.get_platform_display(),
        started_at=row.started_at,
        ended_at=row.ended_at,
        minutes=row.minutes,
        start_assumed=row.start_assumed,
    )


# ------------------------------------------------------------------------------
# An overlap: the school decides
# ------------------------------------------------------------------------------
KEEP_EXISTING, TAKE_NEW, KEEP_BOTH = "keep_existing", "take_new", "keep_both"


def platform_overlaps_for_admin(*, user: User, school: School):
    """The school's platform records waiting for a decision, with both sides, oldest first."""
    if not _is_admin(user, school):
        return PlatformRecord.objects.none()
    return (
        PlatformRecord.objects.filter(
            status=PlatformRecordStatus.OVERLAP, student__school_class__school=school
        )
        .select_related("student__school_class", "overlaps__category", "upload")
        .order_by("started_at", "pk")
    )


@transaction.atomic
def platform_overlap_decide(
    *,
    item: PlatformRecord,
    decision: str,
    reason: str,
    decided_by: User,
    started_at: datetime | None = None,
    ended_at: datetime | None = None,
) -> PlatformRecord:
    """Keep the existing record, take the platform's (the other revoked with the reason), or
    keep both with the platform record's real times, which must then not overlap (the ledger
    checks). Audited; the reason is kept."""
    item = (
        PlatformRecord.objects.select_for_update(of=("self",))
        .select_related("student__school_class__school", "upload", "overlaps")
        .get(pk=item.pk)
    )
    _check_admin(user=decided_by, school=item.student.school_class.school)
    reason = " ".join(reason.split())
    if not reason:
        raise PlatformImportError(_("Give a reason for the decision."), code="reason_required")
    if item.status != PlatformRecordStatus.OVERLAP:
        raise PlatformImportError(_("This overlap was already decided."), code="decided")
    before = {"started_at": item.started_at.isoformat(), "ended_at": item.ended_at.isoformat()}
    category = Category.objects.get(code=CATEGORY_CODE)
    source_ref = platform_source_ref(platform=item.platform, original_id=item.original_id)
    if decision == KEEP_EXISTING:
        item.status = PlatformRecordStatus.KEPT_EXISTING
    elif decision == TAKE_NEW:
        practice_record_revoke(
            record=item.overlaps,
            revoked_by=decided_by,
            reason=_("Replaced by a record from %(platform)s: %(reason)s")
            % {"platform": item.get_platform_display(), "reason": reason},
        )
        item.record, _c = practice_record_upsert(
            source_ref=source_ref, facts=_facts(item.upload, item, category), recorded_by=decided_by
        )
        item.status = PlatformRecordStatus.TOOK_NEW
    elif decision == KEEP_BOTH:
        if started_at is None or ended_at is None or ended_at <= started_at:
            raise PlatformImportError(
                _("Give the platform record's real start and end."), code="times_required"
            )
        item.started_at, item.ended_at = started_at, ended_at
        item.minutes = min(item.minutes, int((ended_at - started_at).total_seconds() // 60))
        item.record, _c = practice_record_upsert(
            source_ref=source_ref,
            facts=_facts(item.upload, item, category),
            recorded_by=decided_by,
            reason=reason,
        )
        item.status = PlatformRecordStatus.KEPT_BOTH
    else:
        raise PlatformImportError(_("Choose a decision."), code="bad_decision")
    item.decided_by, item.decided_at, item.decision_reason = decided_by, timezone.now(), reason
    item.save()
    audit_log_record(
        actor=decided_by,
        action="platform_record.decide",
        target=item,
        data={
            "decision": decision,
            "reason": reason,
            "existing_record": item.overlaps_id,
            "record": item.record_id,
            "before": before,
            "after": {"started_at": item.started_at.isoformat(),
                      "ended_at": item.ended_at.isoformat()},
        },
    )  # fmt: skip
    return item
