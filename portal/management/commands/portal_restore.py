"""Restore a backup made by portal_backup into an empty database and media folder."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from portal.backup import BackupError, backup_restore


class Command(BaseCommand):
    help = (
        "Check the backup's manifest (checksums, vendor, migrations known to this code), then "
        "restore it into the empty database and media folder and compare row counts and files."
    )

    def add_arguments(self, parser):
        parser.add_argument("source", type=Path, help="the folder portal_backup wrote")
        parser.add_argument("--database", default="default", help="the database alias")

    def handle(self, *args, source: Path, database: str, **options):
        try:
            result = backup_restore(source=source, database=database)
        except BackupError as error:
            raise CommandError(f"{error} ({error.code})") from error
        self.stdout.write(
            f"Restored {sum(result.tables.values())} rows in {len(result.tables)} tables "
            f"and {result.media_files} media files from {source}; run `manage.py migrate` if "
            "this code has newer migrations."
        )
