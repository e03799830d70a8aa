"""The portal's own folder for temporary files (uploads being received, exports being written):
created 0700 so only the portal's user reads what is inside, and swept of a crash's leftovers.
"""

import logging
import os
import tempfile
import time
from contextlib import suppress
from pathlib import Path
from typing import IO

from django.conf import settings

logger = logging.getLogger(__name__)


def portal_tmp_dir() -> Path:
    """PORTAL_TMP_DIR, created (with its parents) if absent and kept at mode 0700."""
    folder = Path(settings.PORTAL_TMP_DIR)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    if folder.stat().st_mode & 0o777 != 0o700:
        folder.chmod(0o700)
    return folder


def portal_tmp_path(*, prefix: str, suffix: str = "") -> Path:
    """A new empty file (mode 0600) in the portal's folder; the caller removes it."""
    handle, name = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=portal_tmp_dir())
    os.close(handle)
    return Path(name)


def portal_tmp_file(*, prefix: str) -> IO[bytes]:
    """An anonymous temporary file in the portal's folder, gone when closed or on a crash."""
    return tempfile.TemporaryFile(prefix=prefix, dir=portal_tmp_dir())


def portal_tmp_sweep(*, max_age_seconds: float | None = None) -> int:
    """Remove files in the portal's folder older than PORTAL_TMP_MAX_AGE_SECONDS; returns how many.

    Only a crash leaves a file behind (every run removes its own when it ends, fails or is
    refused), and no run lasts near the limit, so a file that old belongs to no live run.
    """
    limit = settings.PORTAL_TMP_MAX_AGE_SECONDS if max_age_seconds is None else max_age_seconds
    cutoff = time.time() - limit
    removed = 0
    for path in portal_tmp_dir().iterdir():
        with suppress(FileNotFoundError):
            if path.is_file() and not path.is_symlink() and path.stat().st_mtime < cutoff:
                path.unlink()
                removed += 1
    if removed:
        logger.info("Removed %s leftover temporary files.", removed)
    return removed
