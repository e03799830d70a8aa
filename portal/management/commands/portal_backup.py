"""Back up the database and the media folder into a new folder with a manifest."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from portal.backup import BackupError, backup_create


class Command(BaseCommand):
    help = (
        "Write the database (SQLite backup API or pg_dump custom format), the media files and "
        "manifest.json (time, vendor, migrations, row counts, SHA-256 of every file) to --output."
    )

    def add_arguments(self, parser):
        parser.add_argument("--output", type=Path, required=True, help="a new or empty folder")
        parser.add_argument("--database", default="default", help="the database alias")

    def handle(self, *args, output: Path, database: str, **options):
        try:
            manifest = backup_create(output=output, database=database)
        except BackupError as error:
            raise CommandError(str(error)) from error
        media = sum(1 for name in manifest["files"] if name.startswith("media/"))
        self.stdout.write(
            f"Backed up the {manifest['vendor']} database "
            f"({sum(manifest['tables'].values())} rows in {len(manifest['tables'])} tables) "
            f"and {media} media files to {output} at {manifest['created_at']}."
        )
