from celery import shared_task

from . import services


@shared_task
def notification_email_send(*, notification_id: int) -> int:
    services.notification_email(notification_id=notification_id)
    return notification_id
