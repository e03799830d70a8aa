"""Celery tasks of the export: ids in, one service call, id out.

Every task here is safe to run twice, so each is acknowledged only after it ends (`acks_late`)
and given back to the queue when its worker dies (`reject_on_worker_lost`): a run continues or
finds its batch done, a delivery skips a delivered batch, acknowledgements apply once.
"""

from celery import shared_task
from django.conf import settings

from . import delivery, services

BUSY_RETRY_SECONDS = 30
BUSY_RETRIES = 120


AT_LEAST_ONCE = {"acks_late": True, "reject_on_worker_lost": True}


@shared_task(bind=True, max_retries=BUSY_RETRIES, **AT_LEAST_ONCE)
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
    **AT_LEAST_ONCE,
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


@shared_task(bind=True, max_retries=BUSY_RETRIES, **AT_LEAST_ONCE)
def export_scheduled(self) -> list[int]:
    """The weekly beat task: run the due delta batches, then queue each undelivered one."""
    try:
        undelivered = services.export_batches_run_due()
    except services.ExportBusy as exc:
        raise self.retry(exc=exc, countdown=BUSY_RETRY_SECONDS) from exc
    for batch_id in undelivered:
        export_batch_deliver.delay(batch_id=batch_id)
    return undelivered


@shared_task(**AT_LEAST_ONCE)
def export_acks_collect() -> int:
    """Beat: apply the acknowledgement files put back in the drop folder."""
    return delivery.export_acks_collect()


@shared_task(**AT_LEAST_ONCE)
def export_stale_resume() -> list[int]:
    """Beat, every minute: finish the batches whose worker died, then queue their delivery."""
    resumed = services.export_batches_resume_stale()
    for batch_id in resumed:
        export_batch_deliver.delay(batch_id=batch_id)
    return resumed
