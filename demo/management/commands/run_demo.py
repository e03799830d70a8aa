"""Run the demo: the web server, a Celery worker and Celery beat, started and stopped together.

Each child runs in its own session, so a Ctrl-C reaches only this process, which then stops the
children in order: SIGTERM to each process group, a grace period, then SIGKILL.
"""

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connections
from django.shortcuts import resolve_url

from demo import data
from portal.models import User

STOP_TIMEOUT = 10.0
POLL_INTERVAL = 0.25
PR_SET_PDEATHSIG = 1  # <sys/prctl.h>


def _answers_http(url: str) -> bool:
    """True once anything answers HTTP at `url`, whatever the status; proxies are bypassed."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=2):
            return True
    except urllib.error.HTTPError:
        return True
    except (urllib.error.URLError, OSError):
        return False


class Command(BaseCommand):
    help = "Run the web server, a Celery worker and Celery beat together until Ctrl-C."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
        parser.add_argument("--port", type=int, default=8000, help="port to listen on")
        parser.add_argument(
            "--password",
            default=data.DEMO_PASSWORD,
            help="password of the demo logins, as given to seed_demo (only printed)",
        )
        parser.add_argument(
            "--startup-timeout",
            type=float,
            default=60.0,
            help="seconds to wait for the web server to answer",
        )

    def handle(self, *args, host, port, password, startup_timeout, **options):
        bind = f"[{host}]" if ":" in host else host
        probe = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)
        url = f"http://{f'[{probe}]' if ':' in probe else probe}:{port}/"
        seeded = User.objects.filter(username__in=[row[0] for row in data.DEMO_LOGINS]).exists()
        connections.close_all()  # the children open their own; keep no SQLite handle here

        python = sys.executable
        celery = [python, "-m", "celery", "-A", "portal"]
        commands = {
            "web": [python, str(settings.BASE_DIR / "manage.py"), "runserver", f"{bind}:{port}"]
            + ["--noreload"],
            "worker": celery
            + ["worker", "--pool=solo", "--without-mingle", "--without-gossip"]
            + ["--without-heartbeat", "-l", "info"],
            "beat": celery + ["beat", "-l", "info", "--scheduler", settings.CELERY_BEAT_SCHEDULER],
        }
        env = {
            **os.environ,
            "PYTHONUNBUFFERED": "1",
            "DJANGO_SETTINGS_MODULE": os.environ.get(
                "DJANGO_SETTINGS_MODULE", settings.SETTINGS_MODULE
            ),
        }

        self.stop_signal = None
        previous = {
            signum: signal.signal(signum, self._on_signal)
            for signum in (signal.SIGINT, signal.SIGTERM)
        }
        self.children: dict[str, subprocess.Popen] = {}
        failure = None
        try:
            for name, command in commands.items():
                child = subprocess.Popen(
                    command,
                    cwd=settings.BASE_DIR,
                    env=env,
                    start_new_session=True,
                    preexec_fn=_stop_with_parent(os.getpid()),
                )
                self.children[name] = child
                self._say(f"Started {name} (pid {child.pid}): {' '.join(command[1:])}")
            login_url = url.rstrip("/") + resolve_url(settings.LOGIN_URL)
            failure = self._watch(url, login_url, startup_timeout, password if seeded else None)
            if failure is None:
                self._say(f"{signal.Signals(self.stop_signal).name}: stopping ...")
        finally:
            self._stop_children()
            for signum, handler in previous.items():
                signal.signal(signum, handler)
        if failure:
            raise CommandError(failure)
        self._say("All stopped.")

    def _on_signal(self, signum, frame):
        self.stop_signal = signum

    def _say(self, message: str) -> None:
        self.stdout.write(message)
        self.stdout.flush()

    def _watch(
        self, url: str, login_url: str, startup_timeout: float, password: str | None
    ) -> str | None:
        """Wait for a signal or a dead child; returns why it failed, or None on a signal."""
        deadline = time.monotonic() + startup_timeout
        ready = False
        while self.stop_signal is None:
            for name, child in self.children.items():
                if child.poll() is not None:
                    return f"{name} exited with code {child.returncode}; stopped the others."
            if not ready:
                if _answers_http(login_url):
                    ready = True
                    self._banner(url, password)
                elif time.monotonic() > deadline:
                    return f"The web server did not answer at {url} within {startup_timeout:g} s."
            time.sleep(POLL_INTERVAL)
        return None

    def _banner(self, url: str, password: str | None) -> None:
        """The URL and the demo logins; `password` is None when seed_demo has not run."""
        lines = ["", self.style.SUCCESS(f"The portal is running at {url}")]
        if password is None:
            lines.append(self.style.WARNING("No demo users yet: run `manage.py seed_demo` first."))
        else:
            lines.append(f"Demo logins (password: {password}):")
            lines += [f"  {username:<15} {note}" for username, _, _, note in data.DEMO_LOGINS]
            lines.append(f"Django admin: {url}admin/ (as city_admin)")
        lines += ["Press Ctrl-C to stop the web server, the worker and beat.", ""]
        self._say("\n".join(lines))

    def _stop_children(self) -> None:
        """SIGTERM every child's process group, wait, then SIGKILL whatever is left."""
        for child in self.children.values():
            _signal_group(child, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        for name, child in self.children.items():
            try:
                child.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self._say(f"{name} did not stop within {STOP_TIMEOUT:g} s; killing it.")
                _signal_group(child, signal.SIGKILL)
                child.wait()
            _signal_group(child, signal.SIGKILL)  # anything it left behind in its group


def _stop_with_parent(parent_pid: int):
    """On Linux, a child gets SIGTERM when run_demo dies, even by SIGKILL; elsewhere nothing."""
    if not sys.platform.startswith("linux"):
        return None

    def set_parent_death_signal() -> None:
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent_pid:  # the parent died before prctl took effect
            os.kill(os.getpid(), signal.SIGTERM)

    return set_parent_death_signal


def _signal_group(child: subprocess.Popen, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(child.pid, signum)
