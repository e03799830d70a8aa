"""Loaded into a real worker with `-I tests.evaluation_export.worker_pause`: an export run commits
its progress after EXPORT_TEST_PAUSE_AFTER_ROWS rows and then sits inside its batch for
EXPORT_TEST_PAUSE_SECONDS (default 120), so a test can kill the worker there, mid-batch.

The worker imports it after Django is set up and the task modules are loaded; the run looks its
progress function and interval up at call time, so replacing them here takes effect.
"""

import logging
import os
import time

from evaluation_export.services import batches

PAUSE_AFTER = int(os.environ["EXPORT_TEST_PAUSE_AFTER_ROWS"])
PAUSE_SECONDS = float(os.environ.get("EXPORT_TEST_PAUSE_SECONDS", "120"))

logger = logging.getLogger(__name__)
real_progress = batches.export_run_progress


def progress_then_pause(
    *, batch_id: int, token: str, rows_done: int, row_count: int | None = None
) -> None:
    """Commit progress as the run does; after PAUSE_AFTER rows, sleep inside the batch."""
    real_progress(batch_id=batch_id, token=token, rows_done=rows_done, row_count=row_count)
    if row_count is None and rows_done == PAUSE_AFTER:
        logger.warning(
            "Pausing %s s inside batch %s after %s rows.", PAUSE_SECONDS, batch_id, rows_done
        )
        time.sleep(PAUSE_SECONDS)


# Progress is committed every PAUSE_AFTER rows, so row PAUSE_AFTER's progress is on the batch.
batches.PROGRESS_EVERY = PAUSE_AFTER
batches.export_run_progress = progress_then_pause
