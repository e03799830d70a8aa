"""Writes owned by the portal package: the audit log and notifications."""

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import models, transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from .messages import MessageKind
from .models import AuditLog, Notification, User
from .outbox import task_enqueue, task_enqueue_many


def _audit_entry(
    *, actor: User | None, action: str, target: models.Model, data: dict[str, Any] | None
) -> AuditLog:
    return AuditLog(
        actor=actor if actor is not None and actor.pk else None,
        action=action,
        object_type=target._meta.label_lower,
        object_id=str(target.pk),
        object_repr=str(target)[:200],
        data=data or {},
    )


def audit_log_record(
    *, actor: User | None, action: str, target: models.Model, data: dict[str, Any] | None = None
) -> AuditLog:
    """Append one audit entry; callers run it inside their own transaction."""
    entry = _audit_entry(actor=actor, action=action, target=target, data=data)
    entry.save(force_insert=True)
    return entry


def audit_log_record_many(
    *, actor: User | None, action: str, entries: Iterable[tuple[models.Model, dict[str, Any]]]
) -> list[AuditLog]:
    """Append one audit entry per (target, data), the same action by the same actor, in few
    statements (a class's certificates, a batch of imported records); callers run it inside
    their own transaction."""
    return AuditLog.objects.bulk_create(
        [
            _audit_entry(actor=actor, action=action, target=target, data=data)
            for target, data in entries
        ],
        batch_size=1000,
    )


def notification_send(
    *, user: User, message: MessageKind, params: dict[str, Any] | None = None, url: str = ""
) -> Notification:
    """Store a notification and e-mail it once the surrounding transaction commits.

    It is stored as `message`'s code and `params` and shown in the reader's language; `url` is
    the portal page it is about (a path), linked from the notifications page and the e-mail.
    """
    from .tasks import notification_email_send  # tasks import this module

    params = params or {}
    with translation.override(settings.LANGUAGE_CODE):
        text = message.render(params)
    notification = Notification.objects.create(
        user=user,
        code=message.code,
        params=params,
        message=text[: Notification._meta.get_field("message").max_length],
        url=url,
    )
    if user.email:  # nothing to send otherwise; the page shows it all the same
        task_enqueue(notification_email_send, notification_id=notification.pk)
    return notification


def notification_send_bulk(
    *, message: MessageKind, items: list[tuple[User, dict[str, Any], str]]
) -> list[Notification]:
    """One notification per (user, params, url), written in one statement, e.g. for a batch."""
    if not items:
        return []
    field = Notification._meta.get_field("message")
    rows = []
    with translation.override(settings.LANGUAGE_CODE):
        for user, params, url in items:
            rows.append(
                Notification(
                    user=user,
                    code=message.code,
                    params=params,
                    message=message.render(params)[: field.max_length],
                    url=url,
                )
            )
    created = Notification.objects.bulk_create(rows)
    from .tasks import notification_email_send  # tasks import this module

    task_enqueue_many(
        notification_email_send,
        [{"notification_id": n.pk} for n in created if n.user.email and n.pk is not None],
    )
    return created


def notification_email_text(notification: Notification) -> tuple[str, str]:
    """The e-mail's subject and body, in the recipient's language, with a link to the page."""
    with translation.override(notification.user.language or settings.LANGUAGE_CODE):
        subject = f"{settings.PORTAL_NAME}: {_('a new notification')}"
        body = notification.text
        if notification.url:
            body += "\n\n" + _("Open it in the portal: %(link)s") % {
                "link": settings.PORTAL_SITE_URL.rstrip("/") + notification.url
            }
        body += "\n\n" + _("All your notifications: %(link)s") % {
            "link": settings.PORTAL_SITE_URL.rstrip("/") + reverse("notifications")
        }
    return subject, body


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
        subject, body = notification_email_text(notification)
        send_mail(
            subject=subject,
            message=body,
            from_email=None,
            recipient_list=[notification.user.email],
        )
    notification.emailed_at = timezone.now()
    notification.save(update_fields=["emailed_at"])
    return notification
