"""Make the key that signs record packages (PORTAL_SIGNING_KEY_FILE); print its public key."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from students.transfers.signing import fingerprint, public_key_pem, signing_key_generate


class Command(BaseCommand):
    help = "Generate the Ed25519 key that signs record packages; prints the public key."

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="Replace an existing key.")

    def handle(self, *args, force, **options):
        path = Path(settings.PORTAL_SIGNING_KEY_FILE)
        try:
            key = signing_key_generate(path=path, force=force)
        except FileExistsError:
            raise CommandError(f"{path} exists; use --force to replace it.") from None
        self.stdout.write(public_key_pem(key.public_key()))
        self.stdout.write(f"fingerprint: {fingerprint(key.public_key())}")
