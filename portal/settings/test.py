"""Fast settings for the test suite; the database and broker still come from the environment."""

import os
import tempfile
from pathlib import Path

from .base import *  # noqa: F403
from .base import CELERY_BROKER_URL, DATABASES

SECRET_KEY = "test-only-secret-key-not-for-production"
DEBUG = False
ALLOWED_HOSTS = ["*"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

_TMP = Path(tempfile.mkdtemp(prefix="portal-test-"))
MEDIA_ROOT = _TMP / "media"
EVALUATION_EXPORT_DIR = _TMP / "evaluation-export"
CELERY_BROKER_DIR = _TMP / "celery-broker"
PORTAL_TMP_DIR = _TMP / "tmp"
FILE_UPLOAD_TEMP_DIR = str(PORTAL_TMP_DIR)
if CELERY_BROKER_URL.startswith("filesystem"):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_BROKER_DIR / "queue"),
        "data_folder_out": str(CELERY_BROKER_DIR / "queue"),
        "control_folder": str(CELERY_BROKER_DIR / "control"),
        "processed_folder": str(CELERY_BROKER_DIR / "processed"),
        "store_processed": False,
    }
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # pytest-xdist's workers add _gw0, _gw1, ... to this name: a database each.
    DATABASES["default"].setdefault("TEST", {})["NAME"] = os.environ.get(
        "TEST_DATABASE_NAME", "test_portal"
    )
    # A commit need not wait for the disk here: a test database does not outlive a crash.
    _options = DATABASES["default"].setdefault("OPTIONS", {})
    _options["options"] = " ".join(
        filter(None, [_options.get("options"), "-c synchronous_commit=off"])
    )

# A queue of its own per run, so leftovers of an earlier run never reach this run's worker.
CELERY_TASK_DEFAULT_QUEUE = f"portal-test-{_TMP.name}"

STATIC_ROOT = _TMP / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)

# Content types and permissions are recreated after each flush; restoring them from the
# serialized copy as well would collide (serialized_rollback tests).
TEST_NON_SERIALIZED_APPS = ["django.contrib.contenttypes", "django.contrib.auth"]
