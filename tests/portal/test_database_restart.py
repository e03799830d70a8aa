"""PostgreSQL restarting under the site: a request caught by it gets the site's 500 page, the
next one succeeds. The restart is `pg_terminate_backend` on this test's own connections (the
shared cluster keeps running); requests go through Django's WSGI handler, which, unlike the
test client, closes and checks connections between requests as in production.
"""

import threading
import time

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.db import connection, connections
from django.test.client import RequestFactory
from django.urls import reverse

from tests.factories import StudentFactory
from tests.waiting import wait_until

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture
def persistent_connections():
    """Production's database settings: connections kept for a minute, checked before reuse."""

    def use(*, health_checks: bool):
        connection.close()
        connection.settings_dict["CONN_MAX_AGE"] = 60
        connection.settings_dict["CONN_HEALTH_CHECKS"] = health_checks

    saved = {key: connection.settings_dict[key] for key in ("CONN_MAX_AGE", "CONN_HEALTH_CHECKS")}
    yield use
    connection.settings_dict.update(saved)
    connections.close_all()


@pytest.fixture
def student_cookie(client):
    student = StudentFactory()
    client.force_login(student.user)
    return f"sessionid={client.cookies['sessionid'].value}"


class Site:
    """The WSGI application, called as a server would call it."""

    def __init__(self, cookie: str):
        self.handler = WSGIHandler()
        self.cookie = cookie

    def get(self, path: str) -> tuple[int, str]:
        environ = RequestFactory()._base_environ(
            PATH_INFO=path, REQUEST_METHOD="GET", HTTP_COOKIE=self.cookie
        )
        status = []
        response = self.handler(environ, lambda line, headers, exc_info=None: status.append(line))
        try:
            body = b"".join(response).decode()
        finally:
            response.close()  # request_finished: Django closes or keeps the connection here
        return int(status[0].split()[0]), body


def _terminate(pids) -> None:
    """What a restart does to the site's connections: the server ends them."""
    pids = list(pids)
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(pid) FROM unnest(%s::int[]) AS pid", [pids])

        def gone():
            with other.cursor() as cursor:
                cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(%s)", [pids])
                return cursor.fetchone()[0] == 0

        assert wait_until(gone, timeout=10)
    finally:
        other.close()


def _site_backends(exclude=()) -> list[int]:
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND NOT pid = ANY(%s)",
                [list(exclude)],
            )
            return [row[0] for row in cursor.fetchall()]
    finally:
        other.close()


PAGE = reverse("bases:my-applications")


@pytest.mark.parametrize(
    ("health_checks", "after_restart"),
    [(True, [200, 200]), (False, [500, 200])],
    ids=["health-checked", "unchecked"],
)
def test_after_a_restart_between_requests_the_next_request_succeeds(
    persistent_connections, student_cookie, health_checks, after_restart
):
    """With health checks (production) the kept connection is replaced before it is used;
    without, the first request fails with the site's 500 page and the next reconnects."""
    persistent_connections(health_checks=health_checks)
    site = Site(student_cookie)
    assert site.get(PAGE)[0] == 200
    before = connection.connection.info.backend_pid
    _terminate([before])

    responses = [site.get(PAGE) for _ in after_restart]
    assert [status for status, _ in responses] == after_restart
    for status, body in responses:
        if status == 500:
            assert 'class="error-code">500<' in body, "the site's own 500 page"
    assert connection.connection.info.backend_pid != before


def test_under_load_a_restart_fails_only_the_requests_it_caught_and_the_next_succeed(
    persistent_connections, student_cookie, record_property
):
    persistent_connections(health_checks=True)
    site = Site(student_cookie)
    assert site.get(PAGE)[0] == 200
    connections.close_all()
    stop, restarted = threading.Event(), threading.Event()
    seen: dict[int, list[tuple[bool, int]]] = {}

    def browse(number: int) -> None:
        statuses = seen.setdefault(number, [])
        try:
            while not stop.is_set():
                after = restarted.is_set()
                statuses.append((after, site.get(PAGE)[0]))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=browse, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    time.sleep(0.5)
    mine = [connection.connection.info.backend_pid] if connection.connection else []
    _terminate(_site_backends(exclude=mine))
    restarted.set()

    def each_browsed_on():
        return all(sum(after for after, _ in statuses) >= 3 for statuses in seen.values())

    browsed_on = wait_until(each_browsed_on, timeout=30)
    stop.set()
    for thread in threads:
        thread.join(timeout=30)

    every = [status for statuses in seen.values() for _, status in statuses]
    failed = every.count(500)
    record_property("requests", len(every))
    record_property("failed_requests", failed)
    print(f"{len(every)} requests, {failed} failed with 500 while PostgreSQL restarted")
    assert browsed_on, f"some browser stopped: {seen}"
    assert set(every) <= {200, 500}, "a failure is the site's 500 page, nothing else"
    for statuses in seen.values():
        after = [status for was_after, status in statuses if was_after]
        assert after[-3:] == [200, 200, 200], "each browser's later requests succeed"
    for statuses in seen.values():
        assert [status for _, status in statuses].count(500) <= 1, (
            f"only the request a browser had in flight fails: {seen}"
        )
