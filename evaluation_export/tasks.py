"""Celery tasks of the export: ids in, one service call, id out."""

from celery import shared_task

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


@shared_task
def export_batch_deliver(*, batch_id: int) -> int:
    delivery.export_batch_deliver(batch_id=batch_id)
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
