"""The export to the evaluation system (综合素质评价), formats v1 and v2: rows once, written twice.

`export_rows` yields one tuple per record, streamed from the database in chunks
(`iterator(chunk_size=...)` over a `values_list` that spans the joins: what `select_related` would
fetch, without building model instances; no query per row); `export_write` hands them to the
shared writer in `portal.spreadsheets`, which renders xlsx (sheet `records`) or UTF-8 CSV with a
BOM, keeps identifiers as text and escapes formula-like text. Which records a batch carries is
decided here too, by one queryset per batch kind (docs/export-format.md, "Delta rules").

Format v2 is v1 with one more column at the end, `typical_case`: the text of the record's
reflection when the head teacher marked it as a 典型事例 (empty otherwise). A batch keeps the
version it was created with (`ExportBatch.format_version`); v1 is written exactly as before.
"""

from collections.abc import Iterable, Iterator, Sequence
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from django.db.models import Case, Exists, F, OuterRef, Q, QuerySet, Subquery, Value, When

from portal.spreadsheets import write_csv_to, write_xlsx_to
from students.models import (
    PracticeRecord,
    RecordStatus,
    Reflection,
    ReflectionStatus,
    dates_spanned,
)
from students.policies import PolicyBook

from .models import AckStatus, BatchFormat, BatchKind, ExportedLine, Operation

#: Format versions a batch may be written in (docs/export-format.md).
FORMAT_VERSIONS = (1, 2)
SHEET_TITLE = "records"
COLUMNS = (
    "record_id",
    "version",
    "operation",
    "student_number",
    "student_name",
    "school_code",
    "school_name",
    "entry_year",
    "class_name",
    "category",
    "activity_title",
    "organiser_name",
    "organiser_level",
    "district_code",
    "started_at",
    "ended_at",
    "credited_minutes",
    "credit_hours",
    "days",
    "recorded_via",
    "recorded_by",
    "confirmed_at",
    "notice_ended_on",
)
#: Format v2: v1's columns, then the typical case's text.
COLUMNS_V2 = (*COLUMNS, "typical_case")
CHUNK_SIZE = 2000
# Credit hours remembered per export, for (minutes, entry year) pairs met again.
HOURS_REMEMBERED = 100_000
# Lines the receiver may hold: sent in a delta or a re-send and not rejected by it.
SENT_KINDS = (BatchKind.DELTA, BatchKind.RESEND)
ROW_FIELDS = (
    "id",
    "version",
    "title",
    "organiser_name",
    "organiser_level",
    "started_at",
    "ended_at",
    "credited_minutes",
    "recorded_via",
    "confirmed_at",
    "notice_ends_on",
    "student__student_number",
    "student__name",
    "student__school_class__entry_year",
    "student__school_class__number",
    "student__school_class__school__code",
    "student__school_class__school__name",
    "category__code",
    "district__code",
    "recorded_by__username",
)


def columns_for(version: int) -> tuple[str, ...]:
    """The header of a file in format `version`."""
    if version == 1:
        return COLUMNS
    if version == 2:
        return COLUMNS_V2
    raise ValueError(f"Unknown export format version: {version}")


def class_name(*, entry_year: int, number: int) -> str:
    """A class as schools in Shanghai write it, whatever the page language: 2025级3班."""
    return f"{entry_year}级{number}班"


class CreditHours:
    """学时 from minutes with the policy of each entry year, loaded once per export."""

    def __init__(self) -> None:
        self._policies = PolicyBook()
        # (minutes, entry year) -> hours: a handful of pairs over a whole export.
        self._hours: dict[tuple[int, int], Decimal] = {}

    def minutes_per_hour(self, entry_year: int) -> int:
        return self._policies.for_entry_year(entry_year).minutes_per_credit_hour

    def of(self, *, minutes: int, entry_year: int) -> Decimal:
        hours = self._hours.get((minutes, entry_year))
        if hours is None:
            hours = Decimal(minutes) / Decimal(self.minutes_per_hour(entry_year))
            hours = hours.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
            if len(self._hours) < HOURS_REMEMBERED:
                self._hours[(minutes, entry_year)] = hours
        return hours


# ------------------------------------------------------------------------------
# Which records a batch carries
# ------------------------------------------------------------------------------
def _lines_of_record(kinds: Sequence[str]) -> QuerySet[ExportedLine]:
    return ExportedLine.objects.filter(record=OuterRef("pk"), batch_kind__in=kinds)


def records_for_delta() -> QuerySet[PracticeRecord]:
    """Final records not yet sent at their current version, and revocations the receiver needs.

    - final, never sent in a delta: `new` (or `correction` if the receiver already holds an
      earlier version, see below); a record taken in from another installation whose sender
      exported this version is not sent again;
    - final, sent in a delta at an older version: `correction` with the current version, so a
      record corrected twice between batches is sent once, at its latest version;
    - revoked, with a line the receiver may hold (sent, not rejected) at an older version:
      `revocation`; a record revoked before it was ever sent is never sent.
    """
    sent_version = Subquery(
        _lines_of_record([BatchKind.DELTA]).order_by("-version").values("version")[:1]
    )
    held = Exists(_lines_of_record(SENT_KINDS).exclude(ack_status=AckStatus.REJECTED))
    return (
        PracticeRecord.objects.filter(status__in=[RecordStatus.FINAL, RecordStatus.REVOKED])
        # A record from another installation's package whose sender exported this version
        # already: the evaluation system holds it (docs/record-package.md).
        .exclude(origin__exported_version__gte=F("version"))
        .annotate(sent_version=sent_version, held=held)
        .filter(
            Q(status=RecordStatus.FINAL)
            & (Q(sent_version__isnull=True) | Q(sent_version__lt=F("version")))
            | Q(status=RecordStatus.REVOKED, held=True, sent_version__lt=F("version"))
        )
        .annotate(
            export_operation=Case(
                When(status=RecordStatus.REVOKED, then=Value(Operation.REVOCATION)),
                When(held=True, then=Value(Operation.CORRECTION)),
                default=Value(Operation.NEW),
            )
        )
    )


def records_for_full() -> QuerySet[PracticeRecord]:
    """The current state of every final record, each as `new`: the file replaces the table."""
    return PracticeRecord.objects.filter(status=RecordStatus.FINAL).annotate(
        export_operation=Value(Operation.NEW)
    )


def records_for_resend() -> QuerySet[PracticeRecord]:
    """Records whose latest line was rejected and which have not changed since: sent again.

    A record corrected after the rejection is not here: its new version goes in the next delta.
    """
    latest = _lines_of_record(SENT_KINDS).order_by("-id")
    rejected = ExportedLine.objects.filter(
        batch_kind__in=SENT_KINDS, ack_status=AckStatus.REJECTED
    ).values("record")
    return (
        PracticeRecord.objects.filter(pk__in=rejected)
        .annotate(
            latest_ack=Subquery(latest.values("ack_status")[:1]),
            latest_version=Subquery(latest.values("version")[:1]),
            export_operation=Subquery(latest.values("operation")[:1]),
        )
        .filter(latest_ack=AckStatus.REJECTED, latest_version=F("version"))
    )


RECORDS_FOR_KIND = {
    BatchKind.DELTA: records_for_delta,
    BatchKind.FULL: records_for_full,
    BatchKind.RESEND: records_for_resend,
}


def records_for_batch(kind: str) -> QuerySet[PracticeRecord]:
    """The records a batch of `kind` would carry now, in a stable order."""
    return RECORDS_FOR_KIND[kind]().order_by("pk")


# ------------------------------------------------------------------------------
# Rows
# ------------------------------------------------------------------------------
def export_rows(
    records: QuerySet[PracticeRecord], *, chunk_size: int = CHUNK_SIZE, version: int = 1
) -> Iterator[tuple[Any, ...]]:
    """One tuple per record in the order of `columns_for(version)`; `records` needs
    `export_operation`."""
    columns_for(version)  # refuses an unknown version before any query
    hours = CreditHours()
    if version == 1:
        values = records.values_list(*ROW_FIELDS, "export_operation")
        for fields in values.iterator(chunk_size=chunk_size):
            yield _row(fields, hours)
        return
    # A typical case under dispute (or withdrawn after one) is not sent.
    typical = Reflection.objects.filter(
        record=OuterRef("pk"), is_typical=True, status=ReflectionStatus.SHOWN
    )
    values = records.annotate(typical_case=Subquery(typical.values("text")[:1])).values_list(
        *ROW_FIELDS, "export_operation", "typical_case"
    )
    # v2 is the v1 row and one more column, by construction.
    for *fields, text in values.iterator(chunk_size=chunk_size):
        yield (*_row(fields, hours), text or "")


def _row(fields: Sequence[Any], hours: CreditHours) -> tuple[Any, ...]:
    """The v1 row of one record from its ROW_FIELDS and operation."""
    (
        record_id,
        version,
        title,
        organiser_name,
        organiser_level,
        started_at,
        ended_at,
        credited_minutes,
        recorded_via,
        confirmed_at,
        notice_ends_on,
        student_number,
        student_name,
        entry_year,
        class_number,
        school_code,
        school_name,
        category_code,
        district_code,
        recorded_by,
        operation,
    ) = fields
    return (
        str(record_id),
        version,
        operation,
        student_number,
        student_name,
        school_code,
        school_name,
        entry_year,
        class_name(entry_year=entry_year, number=class_number),
        category_code,
        title,
        organiser_name,
        organiser_level,
        district_code or "",
        _to_the_second(started_at),
        _to_the_second(ended_at),
        credited_minutes,
        hours.of(minutes=credited_minutes, entry_year=entry_year),
        len(dates_spanned(started_at, ended_at)),
        recorded_via,
        recorded_by or "",
        _to_the_second(confirmed_at),
        notice_ends_on,
    )


def _to_the_second(moment):
    """Times go out to the second: `2026-10-07T09:00:00+08:00`, never with microseconds."""
    return moment.replace(microsecond=0) if moment is not None else None


def export_write(
    path: Path | str, rows: Iterable[Sequence[Any]], *, fmt: str, version: int = 1
) -> int:
    """Render rows to `path` as xlsx or CSV with the shared writer; returns the row count."""
    columns = columns_for(version)
    if fmt == BatchFormat.XLSX:
        return write_xlsx_to(str(path), rows, columns, SHEET_TITLE)
    if fmt == BatchFormat.CSV:
        with open(path, "w", encoding="utf-8", newline="") as target:
            return write_csv_to(target, rows, columns)
    raise ValueError(f"Unknown export format: {fmt}")


def file_extension(fmt: str) -> str:
    return {BatchFormat.XLSX: "xlsx", BatchFormat.CSV: "csv"}[fmt]
