"""Thin Celery tasks of the ledger: one service call each."""

from celery import shared_task

from . import services


@shared_task
def practice_records_finalise() -> int:
    """Beat: make final every record whose notice has ended with no open dispute."""
    return services.practice_records_finalise()
