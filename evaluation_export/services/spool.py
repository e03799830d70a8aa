"""What a run remembers of each row it writes, in bounded memory, until its lines are saved."""

import os
from array import array
from collections import Counter
from collections.abc import Iterator, Sequence
from typing import Any

from portal.tempfiles import portal_tmp_file

from ..models import ExportBatch, ExportedLine, Operation

LINE_INSERT_BATCH = 2000
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

    def models(self, *, batch: ExportBatch) -> Iterator[list[ExportedLine]]:
        """The lines as unsaved models, LINE_INSERT_BATCH at a time."""
        for record_ids, versions, operations in self.blocks():
            for start in range(0, len(record_ids), LINE_INSERT_BATCH):
                stop = min(start + LINE_INSERT_BATCH, len(record_ids))
                yield [
                    ExportedLine(
                        batch=batch,
                        batch_kind=batch.kind,
                        record_id=record_ids[index],
                        version=versions[index],
                        operation=OPERATIONS_BY_CODE[operations[index]],
                    )
                    for index in range(start, stop)
                ]
