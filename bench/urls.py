"""The portal's URLs plus `/bench/nodb/`, a view that touches no database (benchmarks only).

The no-database view answers with the bytes of a file named by BENCH_NODB_BODY (the harness
saves a real listing page there), so both sides of the listing benchmark send the same bytes
through the same middleware, worker and socket; only the database work differs.
"""

import os
from functools import cache
from pathlib import Path

from django.http import HttpRequest, HttpResponse
from django.urls import include, path


@cache
def _body() -> bytes:
    name = os.environ.get("BENCH_NODB_BODY")
    return Path(name).read_bytes() if name else b"<!doctype html><title>no database</title>"


def no_database(request: HttpRequest) -> HttpResponse:
    return HttpResponse(_body(), content_type="text/html; charset=utf-8")


urlpatterns = [
    path("bench/nodb/", no_database, name="bench-nodb"),
    path("", include("portal.urls")),
]
