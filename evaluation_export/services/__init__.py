"""The export's services: creating, running and reading batches (batches), which run holds a
batch (claims), what a run remembers of its rows (spool) and the refusals (errors).

The names other code imports are re-exported here; patch a name in the module that looks it up.
"""

from .batches import (
    EXPORT_DIR,
    PROGRESS_EVERY,
    DryRun,
    batch_file_name,
    export_batch_create,
    export_batch_download,
    export_batch_run,
    export_batch_start,
    export_batches_resume_stale,
    export_batches_run_due,
    export_dry_run,
    period_of,
    resend_period_of,
)
from .claims import LOCK_CLASS, LOCK_OBJECT
from .errors import ExportBusy, ExportError, ExportTakenOver
from .spool import LINES_SPOOL_ROWS

__all__ = [
    "EXPORT_DIR",
    "LINES_SPOOL_ROWS",
    "LOCK_CLASS",
    "LOCK_OBJECT",
    "PROGRESS_EVERY",
    "DryRun",
    "ExportBusy",
    "ExportError",
    "ExportTakenOver",
    "batch_file_name",
    "export_batch_create",
    "export_batch_download",
    "export_batch_run",
    "export_batch_start",
    "export_batches_resume_stale",
    "export_batches_run_due",
    "export_dry_run",
    "period_of",
    "resend_period_of",
]
