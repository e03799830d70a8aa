"""Limits of attendance sheets: plain module constants, not settings (they may move there)."""

from portal.uploads import DEFAULT_LIMITS

# The reading limits are the portal's defaults for every upload (`portal.uploads`).
MAX_UPLOAD_BYTES = DEFAULT_LIMITS.max_bytes
MAX_DATA_ROWS = DEFAULT_LIMITS.max_data_rows
MAX_SCANNED_ROWS = DEFAULT_LIMITS.max_scanned_rows
#: Only the first columns are read; the template has five.
MAX_COLUMNS = DEFAULT_LIMITS.max_columns
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
