"""Settings for a developer's machine and `make demo`: SQLite and the filesystem broker."""

from .base import *  # noqa: F403
from .base import env_list

DEBUG = True
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "*")
