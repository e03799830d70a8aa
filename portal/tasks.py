from celery import shared_task

from . import outbox, services, tempfiles


# Acknowledged on receipt: a worker dying between sending and marking the e-mail would send it
# again on a redelivery, and one lost e-mail (the notification stays on the dashboard) is the
# lesser harm. Queued through the outbox, it may arrive twice: the second finds it e-mailed.
@shared_task(acks_late=False)
def notification_email_send(*, notification_id: int) -> int:
    services.notification_email(notification_id=notification_id)
    return notification_id


@shared_task(acks_late=True, reject_on_worker_lost=True)
def portal_tmp_sweep() -> int:
    """Beat, hourly: remove the temporary files a crash left behind (removing twice is harmless)."""
    return tempfiles.portal_tmp_sweep()


@shared_task(acks_late=True, reject_on_worker_lost=True)
def outbox_flush() -> int:
    """Beat, every minute: queue the follow-up work the broker could not take at the time."""
    return outbox.outbox_flush().sent
