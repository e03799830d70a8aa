"""Thin Celery tasks of the ledger: one service call each."""

import logging

from celery import shared_task

from portal.models import User

from . import school_year, services
from .models import PlatformImport
from .progress import totals_differences

logger = logging.getLogger(__name__)


# Finalising twice changes nothing: acknowledged after it ends, given back if its worker dies.
@shared_task(acks_late=True, reject_on_worker_lost=True)
def practice_records_finalise() -> int:
    """Beat: make final every record whose notice has ended with no open dispute."""
    return services.practice_records_finalise()


# Disabling twice changes nothing (each close is done once, then marked).
@shared_task(acks_late=True, reject_on_worker_lost=True)
def graduate_logins_disable_due() -> int:
    """Beat: disable the logins of graduates whose grace period after the close has passed."""
    return school_year.graduate_logins_disable_due()


# Importing twice imports once (the import is locked and its status checked first).
@shared_task(acks_late=True, reject_on_worker_lost=True)
def platform_import_confirm(*, import_id: int, user_id: int) -> int:
    """Import a large checked export of another platform; all rows or none."""
    from .platforms.services import platform_import_confirm as confirm  # it queues this task

    confirm(
        upload=PlatformImport.objects.select_related("school").get(pk=import_id),
        confirmed_by=User.objects.get(pk=user_id),
    )
    return import_id


# Checking twice checks once (only an upload still `checking` is checked).
@shared_task(acks_late=True, reject_on_worker_lost=True)
def platform_import_check(*, import_id: int) -> int:
    """Check a large uploaded export of another platform (the preview)."""
    from .platforms.services import platform_import_check as check

    check(upload=PlatformImport.objects.select_related("school", "student").get(pk=import_id))
    return import_id


@shared_task(acks_late=True, reject_on_worker_lost=True)
def platform_imports_requeue_stale() -> list[int]:
    """Beat: queue again the platform imports left importing by a worker that died."""
    from .platforms.services import platform_imports_requeue_stale as requeue

    return requeue()


# Reconciling twice changes nothing: acknowledged after it ends, given back if its worker dies.
@shared_task(acks_late=True, reject_on_worker_lost=True)
def student_totals_reconcile() -> int:
    """Beat, nightly: compare the per-student totals with the ledger and refresh any that
    differ (there should be none: each is an error logged, a write path that skips them)."""
    differences = totals_differences(fix=True)
    for difference in differences:
        logger.error(
            "Student %s: totals %s stored, %s in the ledger (refreshed)",
            difference.student_id,
            difference.stored,
            difference.ledger,
        )
    return len(differences)
