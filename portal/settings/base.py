"""Settings shared by every environment; values that differ come from the environment."""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(os.environ.get("PORTAL_VAR_DIR", BASE_DIR / "var"))


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


# ------------------------------------------------------------------------------
# Core
# ------------------------------------------------------------------------------
SECRET_KEY = os.environ.get("SECRET_KEY", "insecure-local-development-key-change-me")
DEBUG = False
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"
AUTH_USER_MODEL = "portal.User"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# ------------------------------------------------------------------------------
# Apps
# ------------------------------------------------------------------------------
DJANGO_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
]
THIRD_PARTY_APPS = [
    "axes",
    "csp",
    "django_tables2",
    "django_filters",
    "import_export",
    "django_celery_beat",
]
LOCAL_APPS = [
    "portal",
    "districts",
    "students",
    "bases",
    "evaluation_export",
    "dashboards",
    "demo",
]
INSTALLED_APPS = DJANGO_APPS + THIRD_PARTY_APPS + LOCAL_APPS

# A form sent with a stale or missing token gets the site's own page, not Django's.
CSRF_FAILURE_VIEW = "portal.errors.csrf_failure"

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "portal.middleware.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "portal.middleware.CachedAuthenticationMiddleware",
    "portal.middleware.PasswordChangeRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "portal.context_processors.navigation",
            ],
        },
    },
]

# ------------------------------------------------------------------------------
# Security headers on every response (production.py adds HTTPS, HSTS and the cookies)
# ------------------------------------------------------------------------------
# Scripts, styles, fonts and images come from this site only: no inline script, event handler
# or style attribute (static/portal/portal.js does what they did). data: images are the QR
# codes drawn in the page.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
# Browser features no page uses: the roster reads codes from a keyboard-like scanner, not the
# camera, so every feature is off for every origin.
PERMISSIONS_POLICY = {
    feature: []
    for feature in (
        "accelerometer",
        "camera",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "payment",
        "usb",
    )
}

# ------------------------------------------------------------------------------
# Database
# ------------------------------------------------------------------------------
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "0")),
        # A kept connection is checked before each request reuses it: after PostgreSQL
        # restarts, the next request connects afresh instead of failing on the dead one.
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # psycopg prepares a statement run this many times on a connection, if its parameters are
    # bound on the server: only inside `portal.db.prepared_statements` (the apply rush); Django's
    # default client-side binding elsewhere never prepares. A prepared statement is planned once
    # (a generic plan; by default PostgreSQL may plan it afresh for each run's values, as it does
    # for the apply's reads: 1 to 3 ms of planning for 0.1 ms of work). Connections go straight
    # to PostgreSQL (no transaction-pooling proxy, which prepared statements would not survive).
    _options = DATABASES["default"].setdefault("OPTIONS", {})
    _options["prepare_threshold"] = 5
    _options["options"] = " ".join(
        filter(None, [_options.get("options"), "-c plan_cache_mode=force_generic_plan"])
    )
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL and a busy timeout let the web process, worker and beat share one file.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }

# ------------------------------------------------------------------------------
# Cache: shared by every process (sign-in and reset limits count across workers)
# ------------------------------------------------------------------------------
# A Redis cache that is down or slow counts as empty (portal.cache): pages still load, and the
# password-reset limits cannot be counted until it is back. Seconds to wait for it:
CACHE_TIMEOUT = float(os.environ.get("CACHE_TIMEOUT", "1"))
CACHE_URL = os.environ.get("CACHE_URL", "")
CACHES = {
    "default": (
        {
            "BACKEND": "portal.cache.FailSoftRedisCache",
            "LOCATION": CACHE_URL,
            "OPTIONS": {"socket_connect_timeout": CACHE_TIMEOUT, "socket_timeout": CACHE_TIMEOUT},
        }
        if CACHE_URL.startswith(("redis://", "rediss://"))
        else {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    )
}

# Sessions are read from the cache and written to the database as well (a session outlives a
# cache restart); the signed-in user comes from the cache too (portal.user_cache).
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

# ------------------------------------------------------------------------------
# Authentication
# ------------------------------------------------------------------------------
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboards:dashboard"
LOGOUT_REDIRECT_URL = "dashboards:home"
AUTHENTICATION_BACKENDS = [
    "portal.accounts.LoginThrottleBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Failed sign-ins are counted per account and, separately, per address (django-axes); the
# lock-out lasts LOGIN_LOCKOUT_MINUTES from the latest failure. Behind a proxy, set
# TRUSTED_PROXY_COUNT so the client's own address is counted, not the proxy's.
AXES_FAILURE_LIMIT = int(os.environ.get("LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("LOGIN_LOCKOUT_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = True
AXES_LOCKOUT_CALLABLE = "portal.accounts.lockout_response"
AXES_HTTP_RESPONSE_CODE = 429
AXES_VERBOSE = False  # lock-outs and unlocks are in the audit log
AXES_IPWARE_PROXY_COUNT = int(os.environ.get("TRUSTED_PROXY_COUNT", "0")) or None
AXES_IPWARE_META_PRECEDENCE_ORDER = (
    ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"] if AXES_IPWARE_PROXY_COUNT else ["REMOTE_ADDR"]
)
PASSWORD_RESET_LIMIT_PER_ADDRESS = int(os.environ.get("PASSWORD_RESET_LIMIT_PER_ADDRESS", "5"))
PASSWORD_RESET_LIMIT_PER_EMAIL = int(os.environ.get("PASSWORD_RESET_LIMIT_PER_EMAIL", "3"))
# The admin's export formats (portal.exporting) render through portal.spreadsheets, which puts
# a leading ' before formula-like text; django-import-export's own escaping (it strips a
# leading "=") is on as well, for any format added without that renderer.
IMPORT_EXPORT_ESCAPE_FORMULAE_ON_EXPORT = True
IMPORT_EXPORT_ESCAPE_ILLEGAL_CHARS_ON_EXPORT = True
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# ------------------------------------------------------------------------------
# Internationalisation
# ------------------------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [
    ("zh-hans", "简体中文"),
    ("en", "English"),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

# ------------------------------------------------------------------------------
# Static and media files (self-hosted: no CDN)
# ------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# ------------------------------------------------------------------------------
# Temporary files: in the portal's own folder (0700, files 0600), never the system's
# ------------------------------------------------------------------------------
PORTAL_TMP_DIR = Path(os.environ.get("PORTAL_TMP_DIR", VAR_DIR / "tmp"))
# Leftovers of a crash older than this are removed by the hourly sweep.
PORTAL_TMP_MAX_AGE_SECONDS = int(os.environ.get("PORTAL_TMP_MAX_AGE_SECONDS", "86400"))
FILE_UPLOAD_TEMP_DIR = str(PORTAL_TMP_DIR)
FILE_UPLOAD_PERMISSIONS = 0o600
FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o700

# ------------------------------------------------------------------------------
# E-mail
# ------------------------------------------------------------------------------
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "portal@localhost")

# ------------------------------------------------------------------------------
# Celery
# ------------------------------------------------------------------------------
CELERY_BROKER_DIR = Path(os.environ.get("CELERY_BROKER_DIR", VAR_DIR / "celery-broker"))
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "filesystem://")
# Seconds a publish waits for the broker before giving up (the outbox keeps the message).
CELERY_BROKER_TIMEOUT = float(os.environ.get("CELERY_BROKER_TIMEOUT", "2"))
CELERY_BROKER_CONNECTION_TIMEOUT = CELERY_BROKER_TIMEOUT
CELERY_BROKER_TRANSPORT_OPTIONS = (
    {
        "data_folder_in": str(CELERY_BROKER_DIR / "queue"),
        "data_folder_out": str(CELERY_BROKER_DIR / "queue"),
        "control_folder": str(CELERY_BROKER_DIR / "control"),
        "processed_folder": str(CELERY_BROKER_DIR / "processed"),
        "store_processed": False,
    }
    if CELERY_BROKER_URL.startswith("filesystem")
    else {
        "visibility_timeout": 3600,
        # Also for a Redis that hangs without closing the connection. The worker's BRPOP
        # waits in its event loop, not on this timeout.
        "socket_connect_timeout": CELERY_BROKER_TIMEOUT,
        "socket_timeout": CELERY_BROKER_TIMEOUT,
    }
)
# kombu's filesystem transport, writing each message whole before a worker can see it.
CELERY_BROKER_TRANSPORT = (
    "portal.broker:Transport" if CELERY_BROKER_URL.startswith("filesystem") else None
)
# The queue tasks go to and workers read; deployments sharing one Redis each use their own.
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("CELERY_QUEUE", "celery")
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TIMEZONE = TIME_ZONE
CELERY_ENABLE_UTC = True
CELERY_TASK_TIME_LIMIT = 30 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 25 * 60
# Acknowledged on receipt by default; each task that is safe to run twice says so itself
# (`acks_late=True, reject_on_worker_lost=True`), so a dead worker's message comes back.
CELERY_TASK_ACKS_LATE = False
CELERY_TASK_REJECT_ON_WORKER_LOST = False
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Defaults synced into django-celery-beat's tables; edits made in the admin are kept.
CELERY_BEAT_SCHEDULE = {
    "lottery-draw-due": {
        "task": "bases.tasks.sessions_lottery_draw_due",
        "schedule": 60.0,
    },
    "reservations-release-due": {
        "task": "bases.tasks.class_reservations_release_due",
        "schedule": 60.0,
    },
    # Hourly: a missed run is caught within the hour, and finalising twice changes nothing.
    "records-finalise-due": {
        "task": "students.tasks.practice_records_finalise",
        "schedule": 3600.0,
    },
    # A killed worker's message stays unacknowledged on Redis for the visibility timeout (an
    # hour); these find the work it left half-done and give it to a live worker.
    "attendance-imports-requeue-stale": {
        "task": "bases.tasks.attendance_imports_requeue_stale",
        "schedule": 60.0,
    },
    "platform-imports-requeue-stale": {
        "task": "students.tasks.platform_imports_requeue_stale",
        "schedule": 60.0,
    },
    # Nightly (03:30 Shanghai): the per-student totals checked against the ledger (and fixed).
    "student-totals-reconcile": {
        "task": "students.tasks.student_totals_reconcile",
        "schedule": crontab(hour=3, minute=30),
    },
    "graduate-logins-disable-due": {
        "task": "students.tasks.graduate_logins_disable_due",
        "schedule": 3600.0,
    },
    "portal-tmp-sweep": {
        "task": "portal.tasks.portal_tmp_sweep",
        "schedule": 3600.0,
    },
    # Queues the follow-up work the broker could not take when it was written (portal.outbox).
    "outbox-flush": {
        "task": "portal.tasks.outbox_flush",
        "schedule": 60.0,
    },
}
# Outbox (portal.outbox): a message never tried is left to its own request this long; sent
# messages are kept this many days, for the admin's view, then deleted.
OUTBOX_GRACE_SECONDS = float(os.environ.get("OUTBOX_GRACE_SECONDS", "60"))
OUTBOX_KEEP_DAYS = int(os.environ.get("OUTBOX_KEEP_DAYS", "7"))
# An attendance import left "importing" this long has a dead worker and is queued again.
ATTENDANCE_IMPORT_STALE_SECONDS = float(os.environ.get("ATTENDANCE_IMPORT_STALE_SECONDS", "600"))
# So is an import of records from another platform (students.platforms).
PLATFORM_IMPORT_STALE_SECONDS = float(os.environ.get("PLATFORM_IMPORT_STALE_SECONDS", "600"))
DJANGO_CELERY_BEAT_TZ_AWARE = True

# ------------------------------------------------------------------------------
# Portal
# ------------------------------------------------------------------------------
PORTAL_NAME = _("Shanghai Student Social Practice Portal")
# The portal's public address, for links made outside a web request (certificate QR codes).
PORTAL_SITE_URL = os.environ.get("PORTAL_SITE_URL", "http://localhost:8000")
# Who runs the portal and how people reach them: the footer of every page, the privacy and help
# pages. An empty variable keeps the demo default (the operator's default is translated).
PORTAL_OPERATOR = os.environ.get("PORTAL_OPERATOR") or _("Shanghai Municipal Education Commission")
PORTAL_CONTACT_EMAIL = os.environ.get("PORTAL_CONTACT_EMAIL") or "shijian@example.edu.cn"
PORTAL_HOTLINE = os.environ.get("PORTAL_HOTLINE") or "021-6000 0000"
PORTAL_HOTLINE_HOURS = os.environ.get("PORTAL_HOTLINE_HOURS") or _("weekdays 9:00–17:00")
# The site's ICP filing number (备案号), shown in the footer when set.
PORTAL_ICP_NUMBER = os.environ.get("PORTAL_ICP_NUMBER", "")
# How long personal data is kept, as the privacy page states it (logins: the school year's
# close below). Nothing in the code purges records or the audit log: the operator deletes them
# on these terms, and these settings are the one place the terms are written.
RETENTION_RECORDS_YEARS_AFTER_GRADUATION = int(
    os.environ.get("RETENTION_RECORDS_YEARS_AFTER_GRADUATION", "3")
)
RETENTION_AUDIT_LOG_YEARS = int(os.environ.get("RETENTION_AUDIT_LOG_YEARS", "3"))

# Pictures of bases and posts: re-encoded on upload (portal/uploads.py, `read_image`);
# larger ones are refused.
IMAGE_UPLOAD_MAX_BYTES = int(os.environ.get("IMAGE_UPLOAD_MAX_BYTES", str(5 * 1024 * 1024)))
IMAGE_MAX_PIXELS = int(os.environ.get("IMAGE_MAX_PIXELS", str(40_000_000)))
IMAGE_MAX_WIDTH = int(os.environ.get("IMAGE_MAX_WIDTH", "1200"))
# How long the dashboards' completion tiles by district keep a count of the whole city (the
# reports always count afresh).
CITY_TILES_CACHE_SECONDS = int(os.environ.get("CITY_TILES_CACHE_SECONDS", "600"))
# Days after the close of a school year before its graduates' logins are disabled (their
# records, certificates and verification pages stay).
SCHOOL_YEAR_LOGIN_GRACE_DAYS = int(os.environ.get("SCHOOL_YEAR_LOGIN_GRACE_DAYS", "90"))

# ------------------------------------------------------------------------------
# Record packages between installations (docs/record-package.md)
# ------------------------------------------------------------------------------
# This installation's Ed25519 private key (PEM), made by `manage.py signing_key_generate`;
# it signs the record packages of students who move to another installation.
PORTAL_SIGNING_KEY_FILE = Path(
    os.environ.get("PORTAL_SIGNING_KEY_FILE", VAR_DIR / "signing-key.pem")
)
# The largest record package an upload may be.
RECORD_PACKAGE_MAX_BYTES = int(os.environ.get("RECORD_PACKAGE_MAX_BYTES", str(5 * 1024 * 1024)))

# ------------------------------------------------------------------------------
# Evaluation export (docs/export-format.md, "Settings")
# ------------------------------------------------------------------------------
# The drop folder, used while no endpoint is set.
# Format version of new export batches: 1 (the original columns) or 2 (adds `typical_case`);
# the city admin's page and the command may choose another for one run (docs/export-format.md).
EVALUATION_EXPORT_FORMAT_VERSION = int(os.environ.get("EVALUATION_EXPORT_FORMAT_VERSION", "1"))
EVALUATION_EXPORT_DIR = Path(os.environ.get("EVALUATION_EXPORT_DIR", VAR_DIR / "evaluation-export"))
# HTTPS endpoint to POST each batch to instead, and the bearer token sent with it.
EVALUATION_EXPORT_ENDPOINT = os.environ.get("EVALUATION_EXPORT_ENDPOINT", "")
EVALUATION_EXPORT_TOKEN = os.environ.get("EVALUATION_EXPORT_TOKEN", "")
# Seconds one POST may take.
EVALUATION_EXPORT_TIMEOUT = float(os.environ.get("EVALUATION_EXPORT_TIMEOUT", "60"))
# Attempts per delivery; the waits between them start at BACKOFF whole seconds (at least 1)
# and double each time, at most BACKOFF_MAX. Read when the worker starts.
EVALUATION_EXPORT_RETRY_ATTEMPTS = int(os.environ.get("EVALUATION_EXPORT_RETRY_ATTEMPTS", "5"))
EVALUATION_EXPORT_RETRY_BACKOFF = int(os.environ.get("EVALUATION_EXPORT_RETRY_BACKOFF", "2"))
EVALUATION_EXPORT_RETRY_BACKOFF_MAX = int(
    os.environ.get("EVALUATION_EXPORT_RETRY_BACKOFF_MAX", "300")
)
# Without PostgreSQL's advisory lock: a running batch silent this long has a dead runner.
EVALUATION_EXPORT_STALE_SECONDS = float(os.environ.get("EVALUATION_EXPORT_STALE_SECONDS", "600"))
# A new batch no worker has taken after this long: its page says that no worker seems to run.
EVALUATION_EXPORT_UNCLAIMED_SECONDS = float(
    os.environ.get("EVALUATION_EXPORT_UNCLAIMED_SECONDS", "60")
)

# ------------------------------------------------------------------------------
# Logging
# ------------------------------------------------------------------------------
LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "fontTools": {"level": "WARNING"},
        "weasyprint": {"level": "WARNING"},
    },
}
