"""run_demo starts the web server, a Celery worker and beat, and stops them all on Ctrl-C."""

import contextlib
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path

import pytest

from tests.waiting import wait_until

BASE_DIR = Path(__file__).resolve().parents[2]
STARTED = re.compile(r"^Started (\w+) \(pid (\d+)\)")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _demo_env(tmp_path: Path) -> dict[str, str]:
    """A fresh SQLite file and var folder (broker, media) under tmp_path, local settings."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"MEDIA_ROOT", "CELERY_BROKER_DIR", "EVALUATION_EXPORT_DIR"}
    }
    env |= {
        "DJANGO_SETTINGS_MODULE": "portal.settings.local",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "PORTAL_VAR_DIR": str(tmp_path / "var"),
        "CELERY_BROKER_URL": "filesystem://",
        "PYTHONUNBUFFERED": "1",
    }
    return env


def _group_members(pgids: set[int]) -> list[int]:
    """Pids of live (not zombie) processes in any of these process groups, read from /proc."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            # The command name is in parentheses and may hold spaces: split after it.
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) in pgids and fields[0] != "Z":
                members.append(int(stat.parent.name))
    return members


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _fetch(url: str) -> tuple[int, str]:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(url, timeout=10) as response:
        return response.status, response.read().decode("utf-8", "replace")


class DemoRun:
    """`manage.py run_demo` in its own session, its output read line by line as it comes."""

    def __init__(self, env: dict[str, str], port: int):
        self.url = f"http://127.0.0.1:{port}/"
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "run_demo", "--host", "127.0.0.1", "--port", str(port)],
            cwd=BASE_DIR,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.output: list[str] = []
        self.children: dict[str, int] = {}
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.put(line)

    @property
    def text(self) -> str:
        return "".join(self.output)

    def wait_for(self, text: str, timeout: float) -> None:
        """Collect output until `text` appears; fails with the output so far."""
        collected = wait_until(
            lambda: text in self.text or self._collect(), timeout=timeout, interval=0
        )
        assert collected, self.text

    def _collect(self) -> bool:
        """Take the next output line if one comes within half a second (never a match itself)."""
        with contextlib.suppress(queue.Empty):
            self.output.append(self.lines.get(timeout=0.5))
            if match := STARTED.match(self.output[-1]):
                self.children[match.group(1)] = int(match.group(2))
        return False

    def kill_all(self) -> None:
        for pgid in [self.process.pid, *self.children.values()]:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pgid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=5)


@pytest.fixture(scope="module")
def demo_env(tmp_path_factory) -> dict[str, str]:
    """Environment of a freshly migrated SQLite database, shared by this module's tests."""
    env = _demo_env(tmp_path_factory.mktemp("run_demo"))
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
        cwd=BASE_DIR,
        env=env,
        check=True,
        timeout=120,
    )
    return env


pytestmark = [
    pytest.mark.worker,
    pytest.mark.long,
    # One worker of a parallel run migrates the module's database once (tests/conftest.py).
    pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc to find leftover processes"),
]


def test_it_serves_the_portal_and_stops_every_child_on_ctrl_c(demo_env):
    run = DemoRun(demo_env, _free_port())
    try:
        run.wait_for(f"running at {run.url}", timeout=30)
        run.wait_for("Press Ctrl-C", timeout=5)
        assert set(run.children) == {"web", "worker", "beat"}
        assert "No demo users yet" in run.text

        status, page = _fetch(run.url + "accounts/login/")
        assert status == 200
        assert 'name="password"' in page
        status, css = _fetch(run.url + "static/portal/portal.css")
        assert status == 200 and css

        run.process.send_signal(signal.SIGINT)
        assert run.process.wait(timeout=20) == 0
        assert not [pid for pid in run.children.values() if _alive(pid)]
        assert not _group_members(set(run.children.values()))
    finally:
        run.kill_all()


def test_when_a_child_dies_it_stops_the_others_and_fails(demo_env):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        run = DemoRun(demo_env, taken.getsockname()[1])  # runserver cannot bind: it exits
        try:
            run.wait_for("Started beat", timeout=30)
            assert run.process.wait(timeout=30) != 0
            run.wait_for("web exited with code", timeout=5)
            assert not [pid for pid in run.children.values() if _alive(pid)]
            assert not _group_members(set(run.children.values()))
        finally:
            run.kill_all()
