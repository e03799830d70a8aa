"""Backup and restore of the database and the media folder, described by a checked manifest.

A backup is a folder: the database in the vendor's own format (a copy made with SQLite's
backup API, or `pg_dump --format=custom`), the media files as they are, and `manifest.json`
with the time, the vendor, the applied migrations, each table's row count and every file's
SHA-256. The manifest is written last, so a folder without one is an unfinished backup.
"""

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

import django
from django.conf import settings
from django.db import connections, transaction
from django.db.migrations.loader import MigrationLoader
from django.utils import timezone

MANIFEST = "manifest.json"
FORMAT = 1
DATABASE_FILES = {"sqlite": "database.sqlite3", "postgresql": "database.dump"}
MEDIA = "media"


class BackupError(Exception):
    """A backup that cannot be made or restored; `code` says why, for scripts and tests."""

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class RestoreResult:
    """What a restore put back: rows per table and media files."""

    tables: dict[str, int]
    media_files: int


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file, read in blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _vendor(alias: str) -> str:
    vendor = connections[alias].vendor
    if vendor not in DATABASE_FILES:
        raise BackupError(f"No backup for {vendor} databases.", code="vendor_unsupported")
    return vendor


def _pg_environment(settings_dict: dict) -> dict[str, str]:
    """libpq's variables for pg_dump and pg_restore (the password stays off the command line)."""
    env = dict(os.environ)
    for key, name in (("HOST", "PGHOST"), ("PORT", "PGPORT"), ("USER", "PGUSER")):
        if settings_dict.get(key):
            env[name] = str(settings_dict[key])
    if settings_dict.get("PASSWORD"):
        env["PGPASSWORD"] = str(settings_dict["PASSWORD"])
    return env


def _run(command: list[str], *, env: dict[str, str]) -> None:
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BackupError(
            f"{command[0]} failed: {done.stderr.strip()[:2000]}", code=f"{command[0]}_failed"
        )


def _migrations_and_counts(cursor, tables: list[str], quote) -> tuple[dict, dict[str, int]]:
    cursor.execute("SELECT app, name FROM django_migrations ORDER BY app, name")
    migrations: dict[str, list[str]] = {}
    for app, name in cursor.fetchall():
        migrations.setdefault(app, []).append(name)
    counts = {}
    for table in sorted(tables):
        cursor.execute(f"SELECT COUNT(*) FROM {quote(table)}")
        counts[table] = cursor.fetchone()[0]
    return migrations, counts


def _sqlite_dump(alias: str, target: Path) -> tuple[dict, dict[str, int]]:
    """Copy the live database page by page (consistent while others write), then read the copy."""
    connection = connections[alias]
    connection.ensure_connection()
    destination = sqlite3.connect(target)
    try:
        connection.connection.backup(destination)
    finally:
        destination.close()
    return _sqlite_describe(target)


def _sqlite_describe(path: Path) -> tuple[dict, dict[str, int]]:
    database = sqlite3.connect(path)
    try:
        cursor = database.cursor()
        cursor.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
        tables = [row[0] for row in cursor.fetchall()]
        return _migrations_and_counts(cursor, tables, lambda name: f'"{name}"')
    finally:
        database.close()


def _postgresql_dump(alias: str, target: Path) -> tuple[dict, dict[str, int]]:
    """pg_dump from an exported snapshot, counted in that same snapshot: one moment in time."""
    connection = connections[alias]
    with transaction.atomic(using=alias), connection.cursor() as cursor:
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        cursor.execute("SELECT pg_export_snapshot()")
        snapshot = cursor.fetchone()[0]
        _run(
            [
                "pg_dump",
                "--format=custom",
                "--no-owner",
                "--no-privileges",
                f"--snapshot={snapshot}",
                f"--file={target}",
                f"--dbname={connection.settings_dict['NAME']}",
            ],
            env=_pg_environment(connection.settings_dict),
        )
        tables = connection.introspection.table_names(cursor)
        return _migrations_and_counts(cursor, tables, connection.ops.quote_name)


def _media_copy(source: Path, target: Path) -> dict[str, str]:
    """Copy every media file; return their checksums by path relative to the backup folder."""
    checksums = {}
    if not source.is_dir():
        return checksums
    for path in sorted(p for p in source.rglob("*") if p.is_file()):
        relative = path.relative_to(source)
        copy = target / relative
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, copy)
        checksums[f"{MEDIA}/{relative.as_posix()}"] = file_sha256(copy)
    return checksums


def backup_create(
    *, output: Path, database: str = "default", media_root: Path | None = None
) -> dict:
    """Write a backup of `database` and the media folder into the new folder `output`."""
    media_root = Path(media_root or settings.MEDIA_ROOT)
    vendor = _vendor(database)
    if output.exists() and any(output.iterdir()):
        raise BackupError(f"{output} is not empty.", code="output_not_empty")
    output.mkdir(parents=True, exist_ok=True)
    database_file = output / DATABASE_FILES[vendor]
    dump = _sqlite_dump if vendor == "sqlite" else _postgresql_dump
    created_at = timezone.now()
    migrations, tables = dump(database, database_file)
    # Media after the database: a file is written before the row naming it, so every file the
    # dumped rows name is already there.
    files = {database_file.name: file_sha256(database_file)}
    files.update(_media_copy(media_root, output / MEDIA))
    manifest = {
        "format": FORMAT,
        "created_at": created_at.isoformat(),
        "django": django.get_version(),
        "vendor": vendor,
        "database_file": database_file.name,
        "migrations": migrations,
        "tables": tables,
        "files": files,
    }
    partial = output / f".{MANIFEST}.partial"
    partial.write_text(json.dumps(manifest, indent=2, sort_keys=True), encoding="utf-8")
    partial.replace(output / MANIFEST)
    return manifest


def manifest_check(*, source: Path, vendor: str) -> dict:
    """The manifest of the backup in `source`, once its files, vendor and migrations check out."""
    try:
        manifest = json.loads((source / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise BackupError(
            f"No readable {MANIFEST} in {source}: {error}", code="no_manifest"
        ) from error
    if manifest.get("format") != FORMAT:
        raise BackupError(f"Unknown backup format {manifest.get('format')}.", code="format")
    if manifest["vendor"] != vendor:
        raise BackupError(
            f"The backup is of a {manifest['vendor']} database, the target is {vendor}.",
            code="vendor_mismatch",
        )
    for name, expected in manifest["files"].items():
        path = source / name
        if not path.is_file():
            raise BackupError(f"{name} is missing from the backup.", code="file_missing")
        if file_sha256(path) != expected:
            raise BackupError(f"{name} does not match its checksum.", code="checksum_mismatch")
    known = MigrationLoader(None, ignore_no_migrations=True).disk_migrations
    unknown = [
        f"{app}.{name}"
        for app, names in manifest["migrations"].items()
        for name in names
        if (app, name) not in known
    ]
    if unknown:
        raise BackupError(
            f"The backup has migrations this code does not know: {', '.join(unknown[:10])}.",
            code="migrations_unknown",
        )
    return manifest


def _target_empty(alias: str, media_root: Path) -> None:
    connection = connections[alias]
    with connection.cursor() as cursor:
        tables = connection.introspection.table_names(cursor)
    if tables:
        raise BackupError(
            f"The database {connection.settings_dict['NAME']} is not empty ({len(tables)} tables).",
            code="database_not_empty",
        )
    if media_root.exists() and any(media_root.iterdir()):
        raise BackupError(f"The media folder {media_root} is not empty.", code="media_not_empty")


def _restore_database(alias: str, vendor: str, backup_file: Path) -> None:
    connection = connections[alias]
    if vendor == "sqlite":
        connection.close()
        source = sqlite3.connect(backup_file)
        target = sqlite3.connect(connection.settings_dict["NAME"])
        try:
            source.backup(target)
        finally:
            source.close()
            target.close()
        return
    connection.close()
    _run(
        [
            "pg_restore",
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            "--single-transaction",
            f"--dbname={connection.settings_dict['NAME']}",
            str(backup_file),
        ],
        env=_pg_environment(connection.settings_dict),
    )


def _describe(alias: str, vendor: str) -> tuple[dict, dict[str, int]]:
    """The applied migrations and row counts of a restored database, counted as the dump was."""
    connection = connections[alias]
    if vendor == "sqlite":
        return _sqlite_describe(Path(connection.settings_dict["NAME"]))
    with connection.cursor() as cursor:
        tables = connection.introspection.table_names(cursor)
        return _migrations_and_counts(cursor, tables, connection.ops.quote_name)


def backup_restore(
    *, source: Path, database: str = "default", media_root: Path | None = None
) -> RestoreResult:
    """Restore the backup in `source` into the empty `database` and the empty media folder."""
    media_root = Path(media_root or settings.MEDIA_ROOT)
    vendor = _vendor(database)
    manifest = manifest_check(source=source, vendor=vendor)
    _target_empty(database, media_root)
    _restore_database(database, vendor, source / manifest["database_file"])
    copied = _media_copy(source / MEDIA, media_root)
    migrations, counts = _describe(database, vendor)
    if migrations != manifest["migrations"] or counts != manifest["tables"]:
        raise BackupError(
            "The restored database does not match the manifest.", code="restore_mismatch"
        )
    expected = {name: sha for name, sha in manifest["files"].items() if name.startswith(MEDIA)}
    if copied != expected:
        raise BackupError("The restored media do not match the manifest.", code="media_mismatch")
    return RestoreResult(tables=counts, media_files=len(copied))
