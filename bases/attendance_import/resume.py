"""Confirmations whose worker died: an import left `importing` past the stale limit is queued
again. The confirmation imports once however often it runs, so a second copy is harmless.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from portal.models import AuditLog
from portal.outbox import task_enqueue
from portal.services import audit_log_record

from ..models import AttendanceImport, ImportStatus

logger = logging.getLogger(__name__)

# The audit entries that hand an import to the worker: the coordinator's and this module's.
QUEUE_ACTIONS = ("attendance_import.queue", "attendance_import.requeue")


def attendance_imports_stale() -> list[tuple[AttendanceImport, int | None]]:
    """(import, confirming user id) of each import queued longer ago than the stale limit."""
    stale = timezone.now() - timedelta(seconds=settings.ATTENDANCE_IMPORT_STALE_SECONDS)
    importing = {
        str(item.pk): item
        for item in AttendanceImport.objects.filter(status=ImportStatus.IMPORTING).order_by("pk")
    }
    entries = AuditLog.objects.filter(
        action__in=QUEUE_ACTIONS,
        object_type=AttendanceImport._meta.label_lower,
        object_id__in=list(importing),
    ).order_by("object_id", "-created_at", "-id")
    latest: dict[str, AuditLog] = {}
    for entry in entries:
        latest.setdefault(entry.object_id, entry)
    found = []
    for object_id, item in importing.items():
        entry = latest.get(object_id)
        queued_at = entry.created_at if entry else item.created_at
        if queued_at < stale:
            actor = (entry.data.get("confirmed_by") or entry.actor_id) if entry else None
            found.append((item, actor or item.uploaded_by_id))
    return found


def attendance_imports_requeue_stale() -> list[int]:
    """Queue again every confirmation stuck `importing`; returns the import ids queued."""
    # Imported here: the task module imports this package, so a top-level import is a cycle.
    from ..tasks import attendance_import_confirm as confirm_task

    queued = []
    for item, user_id in attendance_imports_stale():
        if user_id is None:
            continue
        logger.warning("Attendance import %s: its worker stopped; queueing it again.", item.pk)
        with transaction.atomic():
            audit_log_record(
                actor=None,
                action="attendance_import.requeue",
                target=item,
                data={"confirmed_by": user_id},
            )
            task_enqueue(confirm_task, import_id=item.pk, user_id=user_id)
        queued.append(item.pk)
    return queued
