import os

import pytest
from django.db import connection

from tests.personas import colleague_of, outsider_of, owner_of

# pytest-django's live_server with Playwright's sync API runs Django code from an event loop.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """Drive Debian's Chromium: Playwright's own browser download cannot work here."""
    return {
        **browser_type_launch_args,
        "executable_path": os.environ.get("CHROMIUM", "/usr/bin/chromium"),
        "args": CHROMIUM_ARGS,
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "locale": "zh-CN", "timezone_id": "Asia/Shanghai"}


# Modules whose tests share one costly module-scoped fixture (a seeded or migrated database): a
# parallel run (make test: pytest-xdist, --dist loadgroup) keeps each on one worker, so that the
# fixture is made once. pytest-xdist's own xdist_group marks do nothing on pytest 9.2, whose node
# ids it can no longer suffix with the group (pytest-xdist#1386): the grouping is done here.
ONE_WORKER_MODULES = ("tests/demo/test_seed_demo.py", "tests/demo/test_run_demo.py")


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class ModulesKeptTogether(LoadScopeScheduling):
        """One work unit per listed module, one per test elsewhere; the biggest units first."""

        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0]
            return module if module in ONE_WORKER_MODULES else nodeid

    return ModulesKeptTogether(config, log)


def pytest_collection_modifyitems(config, items):
    skip_pg = pytest.mark.skip(reason="needs PostgreSQL: set DATABASE_URL=postgres://...")
    for item in items:
        if "postgres" in item.keywords and not _is_postgres():
            item.add_marker(skip_pg)
    if hasattr(config, "workerinput"):
        # In a parallel run (pytest-xdist) the long tests go first, so that one of them left
        # for last does not keep the run going while the other workers have nothing to do.
        items.sort(key=lambda item: item.get_closest_marker("long") is None)


def _is_postgres() -> bool:
    from django.conf import settings

    return settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"


@pytest.fixture
def is_postgres() -> bool:
    return connection.vendor == "postgresql"


def pytest_runtest_setup(item):
    """Keep serialized_rollback working for browser tests.

    Playwright's sync API runs tests where Django opens a fresh connection that lacks the
    serialized test data, so the restore after a flush would silently do nothing.
    """
    from django.db import connections

    for db in connections.all(initialized_only=True):
        contents = db.__dict__.get("_test_serialized_contents")
        if contents is not None:
            type(db)._test_serialized_contents = contents


@pytest.fixture(autouse=True)
def _default_language():
    """Every test starts in the default language (zh-hans), and a test that switches language
    (a request with ?language=en) does not leak into the next."""
    from django.conf import settings
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture(autouse=True)
def _empty_queue(request):
    """A test with a real worker starts on an empty queue: a message another test queued with
    no worker running (a delivery, a notification) would otherwise be run in this one."""
    if request.node.get_closest_marker("worker") is not None:
        from portal.celery import app

        app.control.purge()
    yield


@pytest.fixture(autouse=True)
def _empty_cache():
    """Every test starts with an empty cache (the tests' in-process one): what one test counted
    (the dashboards' city tiles, sign-in limits) is never another's."""
    from django.core.cache import cache

    cache.clear()
    yield


@pytest.fixture(autouse=True)
def _student_totals_exact(request):
    """After every test that used the database, the per-student totals (StudentTotal) equal
    the ledger's full aggregate: a write path that changes records without refreshing them
    (raw SQL, a new bulk path) fails the tests that exercise it."""
    if request.node.get_closest_marker("django_db") is None:
        yield
        return
    request.getfixturevalue("_django_db_helper")  # torn down (rolled back) after this check
    yield
    from students.progress import totals_differences

    differences = totals_differences()
    assert differences == [], f"Stored student totals differ from the ledger: {differences}"


# Personas around the object a module's tests are about: the module names that object in an
# `owned` fixture (its base, session, school, ...), and these say who stands where around it.
@pytest.fixture
def owner(owned):
    return owner_of(owned)


@pytest.fixture
def colleague(owned):
    return colleague_of(owned)


@pytest.fixture
def outsider(owned):
    return outsider_of(owned)


@pytest.fixture
def redis_server():
    """A private redis-server (tests/brokers.py) a test may stop and start; never the shared one."""
    import shutil

    from tests.brokers import RedisServer

    if shutil.which("redis-server") is None:
        pytest.skip("needs redis-server on the PATH")
    server = RedisServer().start()
    yield server
    server.stop()
