"""Limits of attendance sheets: plain module constants, not settings (they may move there)."""

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
MAX_DATA_ROWS = 20_000
#: Rows read in all, empty ones included: a sheet of a million empty rows is refused too.
MAX_SCANNED_ROWS = 50_000
#: Only the first columns are read; the template has five.
MAX_COLUMNS = 20
MAX_ZIP_MEMBERS = 1_000
MAX_UNCOMPRESSED_BYTES = 50 * 1024 * 1024
MAX_COMPRESSION_RATIO = 100
#: Members smaller than this are not checked for their ratio (the total still is).
RATIO_CHECK_MIN_BYTES = 64 * 1024
MAX_CONTENT_TYPES_BYTES = 256 * 1024
#: Errors stored and shown per file; the rest are counted.
MAX_ERRORS_STORED = 1_000
MAX_NOTE_LENGTH = 300
#: Sessions listed on the template's second sheet.
TEMPLATE_SESSIONS_DAYS_BACK = 60
TEMPLATE_SESSIONS_DAYS_AHEAD = 14
TEMPLATE_SESSIONS_MAX = 500
QUERY_CHUNK = 500
#: Rows handed to the attendance service at once (two scans each), to bound its queries.
CONFIRM_CHUNK = 1000
