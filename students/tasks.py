"""Thin Celery tasks of the ledger: one service call each."""

from celery import shared_task

from . import school_year, services


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
