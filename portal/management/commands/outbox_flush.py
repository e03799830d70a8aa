"""Queue the follow-up work left pending while the broker was down (what beat does each minute)."""

from django.core.management.base import BaseCommand, CommandError

from portal.outbox import outbox_flush


class Command(BaseCommand):
    help = (
        "Publish the pending outbox messages to the broker, oldest first, and delete the sent "
        "ones older than OUTBOX_KEEP_DAYS. Fails, keeping the rest pending, if the broker "
        "refuses a message."
    )

    def handle(self, *args, **options):
        result = outbox_flush()
        summary = (
            f"Queued {result.sent} messages; {result.pending} pending; {result.purged} purged."
        )
        if result.error:
            raise CommandError(f"{summary} The broker refused a message: {result.error}")
        self.stdout.write(summary)
