"""What a run remembers of each row it writes, in bounded memory, until its lines are saved."""

import os
from array import array
from collections import Counter
from collections.abc import Iterator, Sequence
from typing import Any

from django.db import connection

from portal.tempfiles import portal_tmp_file

from ..models import ExportBatch, ExportedLine, Operation

# Lines sent to COPY at once.
COPY_ROWS = 20_000
# Lines a run keeps in memory before spooling them to a temporary file.
LINES_SPOOL_ROWS = 100_000
OPERATION_CODES = {Operation.NEW: 0, Operation.CORRECTION: 1, Operation.REVOCATION: 2}
OPERATIONS_BY_CODE = {code: operation for operation, code in OPERATION_CODES.items()}


class LineSpool:
    """(record, version, operation) of each row written, compactly.

    17 bytes a row in memory up to `spool_rows` rows; past that the rows go to a temporary file
    in blocks, so a run's memory stays bounded however many rows it writes (10 million rows
    would otherwise hold 170 MB until the end of the run).
    """

    def __init__(self, *, spool_rows: int | None = None) -> None:
        self.spool_rows = spool_rows or LINES_SPOOL_ROWS
        self._new_block()
        self._spool = None  # a temporary file, once the first block is full
        self._spooled = 0
        self._counts: Counter = Counter()

    def _new_block(self) -> None:
        self.record_ids, self.versions, self.operations = array("q"), array("q"), bytearray()

    def __len__(self) -> int:
        return self._spooled + len(self.record_ids)

    def add(self, row: Sequence[Any]) -> None:
        code = OPERATION_CODES[row[2]]
        self.record_ids.append(int(row[0]))
        self.versions.append(row[1])
        self.operations.append(code)
        self._counts[code] += 1
        if len(self.record_ids) >= self.spool_rows:
            self._spill()

    def _spill(self) -> None:
        if self._spool is None:
            # Closed by close(), which every run calls in a finally block; unnamed, so a crash
            # leaves nothing behind either.
            self._spool = portal_tmp_file(prefix="export-lines-")
        size = len(self.record_ids)
        self._spool.write(size.to_bytes(8, "little"))
        self.record_ids.tofile(self._spool)
        self.versions.tofile(self._spool)
        self._spool.write(self.operations)
        self._spooled += size
        self._new_block()

    def blocks(self) -> Iterator[tuple[array, array, bytes]]:
        """(record ids, versions, operation codes) block by block, in the order added."""
        if self._spool is not None:
            self._spool.seek(0)
            while header := self._spool.read(8):
                size = int.from_bytes(header, "little")
                record_ids, versions = array("q"), array("q")
                record_ids.fromfile(self._spool, size)
                versions.fromfile(self._spool, size)
                yield record_ids, versions, self._spool.read(size)
            self._spool.seek(0, os.SEEK_END)
        if self.record_ids:
            yield self.record_ids, self.versions, bytes(self.operations)

    def close(self) -> None:
        if self._spool is not None:
            self._spool.close()
            self._spool = None

    def counts(self) -> dict[str, int]:
        return {operation: self._counts[code] for operation, code in OPERATION_CODES.items()}

    def insert(self, *, batch: ExportBatch) -> None:
        """Save the lines of `batch`, in the order added, in bulk and without model instances:
        COPY on PostgreSQL, plain rows to executemany elsewhere.

        The database's constraints check every line as with any insert (a delta line's
        (record, version) once), and a violation is Django's IntegrityError either way.
        """
        meta = ExportedLine._meta
        names = (
            "batch",
            "batch_kind",
            "record",
            "version",
            "operation",
            "ack_status",
            "ack_reason",
        )
        fields = [meta.get_field(name) for name in names]
        # The fields past `operation` take their model defaults (a line awaits its acknowledgement).
        defaults = [field.get_default() for field in fields[5:]]
        quote = connection.ops.quote_name
        columns = ", ".join(quote(field.column) for field in fields)
        table = quote(meta.db_table)
        if connection.vendor == "postgresql":
            self._copy(f"COPY {table} ({columns}) FROM STDIN", batch=batch, defaults=defaults)
            return
        sql = f"INSERT INTO {table} ({columns}) VALUES ({', '.join(['%s'] * len(fields))})"
        with connection.cursor() as cursor:
            for record_ids, versions, operations in self.blocks():
                cursor.executemany(
                    sql,
                    [
                        (batch.pk, batch.kind, record_id, version, OPERATIONS_BY_CODE[code])
                        + tuple(defaults)
                        for record_id, version, code in zip(
                            record_ids, versions, operations, strict=True
                        )
                    ],
                )

    def _copy(self, sql: str, *, batch: ExportBatch, defaults: list) -> None:
        # COPY's text format: tab-separated, one line a row. The leading two and the trailing
        # columns are the same for every line of an operation; none holds a tab or a backslash.
        head = f"{batch.pk}\t{batch.kind}\t"
        tails = {
            code: "\t" + "\t".join([operation, *map(str, defaults)]) + "\n"
            for code, operation in OPERATIONS_BY_CODE.items()
        }
        with (
            connection.cursor() as cursor,
            connection.wrap_database_errors,
            cursor.cursor.copy(sql) as copy,
        ):
            for record_ids, versions, operations in self.blocks():
                for start in range(0, len(record_ids), COPY_ROWS):
                    stop = start + COPY_ROWS
                    lines = zip(
                        record_ids[start:stop],
                        versions[start:stop],
                        operations[start:stop],
                        strict=True,
                    )
                    copy.write(
                        "".join(
                            f"{head}{record_id}\t{version}{tails[code]}"
                            for record_id, version, code in lines
                        )
                    )
