"""The WSGI entry point (`gunicorn portal.wsgi`).

Each worker loads the URL configuration (and with it every view module) when it starts, not on
its first request: otherwise the first request a new worker serves waits about half a second.
"""

import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings.local")
application = get_wsgi_application()
get_resolver().url_patterns  # noqa: B018  (loads the URLconf and the views it names)
