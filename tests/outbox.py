"""What the outbox handed to the broker, read from its rows (portal.outbox)."""

from portal.models import OutboxMessage


def sent_kwargs(task) -> list[dict]:
    """The keyword arguments of each message of `task` the broker took, oldest first."""
    return [
        message.kwargs
        for message in OutboxMessage.objects.filter(
            task_name=task.name, sent_at__isnull=False
        ).order_by("created_at", "id")
    ]
