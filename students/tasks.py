"""Thin Celery tasks of the ledger: one service call each."""

from celery import shared_task

from . import services


# Finalising twice changes nothing: acknowledged after it ends, given back if its worker dies.
@shared_task(acks_late=True, reject_on_worker_lost=True)
def practice_records_finalise() -> int:
    """Beat: make final every record whose notice has ended with no open dispute."""
    return services.practice_records_finalise()
