"""Records from other platforms: a volunteer platform's export (上海志愿者网/志愿云, 志愿汇, or the
portal's generic template), previewed row by row, then imported into the ledger.

Columns are mapped per platform (`reading.PLATFORM_COLUMNS`, docs/other-platforms.md). The file
is read by the portal's guarded reader (`portal.uploads.read_rows`). The preview names every bad
field with its reason and nothing is written until a school admin confirms; then all rows or
none. Each record keeps its provenance (`PlatformRecord`: platform, the platform's own id, the
file's digest, who imported it); (platform, id) is the natural key, so the same file again
changes nothing. A row overlapping a live record of the student is not credited: it waits for
the school's decision (`platform_overlap_decide`). A student may upload their own records; they
wait for the school's review (confirm or reject with a reason).

Modules: `reading` (columns and cells), `planning` (rows to outcomes), `services` (preview,
confirm, reject, decide), `template`.
"""
