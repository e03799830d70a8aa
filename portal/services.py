"""Writes owned by the portal package: the audit log and notifications."""

from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import models, transaction
from django.utils import timezone

from .models import AuditLog, Notification, User
from .outbox import task_enqueue


def audit_log_record(
    *, actor: User | None, action: str, target: models.Model, data: dict[str, Any] | None = None
) -> AuditLog:
    """Append one audit entry; callers run it inside their own transaction."""
    return AuditLog.objects.create(
        actor=actor if actor is not None and actor.pk else None,
        action=action,
        object_type=target._meta.label_lower,
        object_id=str(target.pk),
        object_repr=str(target)[:200],
        data=data or {},
    )


def notification_send(*, user: User, message: str, url: str = "") -> Notification:
    """Store a notification and e-mail it once the surrounding transaction commits."""
    from .tasks import notification_email_send  # tasks import this module

    notification = Notification.objects.create(user=user, message=message[:500], url=url)
    task_enqueue(notification_email_send, notification_id=notification.pk)
    return notification


@transaction.atomic
def notification_email(*, notification_id: int) -> Notification | None:
    """Send one notification by e-mail; a second call for the same one sends nothing."""
    notification = (
        Notification.objects.select_for_update()
        .select_related("user")
        .filter(pk=notification_id)
        .first()
    )
    if notification is None or notification.emailed_at is not None:
        return notification
    if notification.user.email:
        send_mail(
            subject=str(settings.PORTAL_NAME),
            message=notification.message,
            from_email=None,
            recipient_list=[notification.user.email],
        )
    notification.emailed_at = timezone.now()
    notification.save(update_fields=["emailed_at"])
    return notification
