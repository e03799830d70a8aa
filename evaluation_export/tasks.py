"""Celery tasks of the export: ids in, one service call, id out."""

from celery import shared_task
from django.conf import settings

from . import delivery, services

BUSY_RETRY_SECONDS = 30
BUSY_RETRIES = 120


@shared_task(bind=True, max_retries=BUSY_RETRIES)
def export_batch_run(self, *, batch_id: int) -> int:
    """Run (or continue) one batch; while another run holds the export lock, wait and retry."""
    try:
        services.export_batch_run(batch_id=batch_id)
    except services.ExportBusy as exc:
        raise self.retry(exc=exc, countdown=BUSY_RETRY_SECONDS) from exc
    except services.ExportTakenOver:
        pass  # another run finishes this batch
    return batch_id


@shared_task(
    bind=True,
    autoretry_for=(delivery.TransientDeliveryError,),
    max_retries=max(0, settings.EVALUATION_EXPORT_RETRY_ATTEMPTS - 1),
    # Waits of BACKOFF, 2 x BACKOFF, 4 x BACKOFF ... seconds, at most BACKOFF_MAX each.
    retry_backoff=settings.EVALUATION_EXPORT_RETRY_BACKOFF,
    retry_backoff_max=settings.EVALUATION_EXPORT_RETRY_BACKOFF_MAX,
    # One delivery a batch: no crowd of clients whose retries need spreading, so the waits
    # stay the documented ones.
    retry_jitter=False,
)
def export_batch_deliver(self, *, batch_id: int) -> int:
    """Deliver one done batch; a transient failure is retried until the last attempt."""
    delivery.export_batch_deliver(
        batch_id=batch_id, attempt=self.request.retries + 1, attempts=self.max_retries + 1
    )
    return batch_id


@shared_task(bind=True, max_retries=BUSY_RETRIES)
def export_scheduled(self) -> list[int]:
    """The weekly beat task: run the due delta batches, then queue each undelivered one."""
    try:
        undelivered = services.export_batches_run_due()
    except services.ExportBusy as exc:
        raise self.retry(exc=exc, countdown=BUSY_RETRY_SECONDS) from exc
    for batch_id in undelivered:
        export_batch_deliver.delay(batch_id=batch_id)
    return undelivered


@shared_task
def export_acks_collect() -> int:
    return delivery.export_acks_collect()
