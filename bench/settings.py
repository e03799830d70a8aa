"""Settings of the gunicorn the benchmark starts: the portal's own, with the bench URLconf.

Only for benchmarking: `bench.urls` adds a view that touches no database next to the portal's
URLs. The database comes from DATABASE_URL as usual; DATABASE_CONN_MAX_AGE (the harness sets 60
unless given) keeps each worker's connection open, as a production deployment would.
"""

from portal.settings.base import *  # noqa: F403

DEBUG = False
ROOT_URLCONF = "bench.urls"
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
