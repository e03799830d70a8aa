"""Thin Celery tasks of the ledger: one service call each."""

import logging

from celery import shared_task

from . import school_year, services
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
