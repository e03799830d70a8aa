"""Run the demo: the web server, a Celery worker and Celery beat, started and stopped together.

honcho supervises them: each child runs in its own session, its output is forwarded with the
child's name, and a Ctrl-C, or any child stopping, sends SIGTERM to every child's process group
(SIGKILL after a grace period). This command adds the banner once the web server answers.
"""

import os
import re
import shlex
import sys
import threading
import time
import urllib.error
import urllib.request

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connections
from django.shortcuts import resolve_url
from honcho.manager import SYSTEM_PRINTER_NAME, Manager
from honcho.printer import Printer

from demo import data
from portal.models import User

POLL_INTERVAL = 0.25
# honcho's own lines about its children: a child started, a child stopped, a signal received.
STARTED = re.compile(r"^(\w+) started \(pid=(\d+)\)$")
STOPPED = re.compile(r"^(\w+) stopped \(rc=(-?\d+)\)$")
RECEIVED = re.compile(r"^(SIGINT|SIGTERM) received$")


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


class DemoPrinter(Printer):
    """honcho's printer, which also notes the first child to stop and whether a signal came.

    A child's start is shown as `Started <name> (pid <pid>): <command>`, as before honcho.
    """

    def __init__(self, commands: dict[str, str], **kwargs):
        super().__init__(**kwargs)
        self.commands = commands
        self.first_stop: tuple[str, int] | None = None
        self.signal_name: str | None = None
        self.stopping = False  # set before run_demo itself stops the children

    def write(self, message):
        if message.name == SYSTEM_PRINTER_NAME:
            text = message.data.strip()
            if started := STARTED.match(text):
                name, pid = started.groups()
                line = f"Started {name} (pid {pid}): {self.commands[name]}"
                print(line, file=self.output, flush=True)
                return
            if received := RECEIVED.match(text):
                self.signal_name = self.signal_name or received.group(1)
            elif (stopped := STOPPED.match(text)) and not self._stop_requested():
                self.first_stop = (stopped.group(1), int(stopped.group(2)))
        super().write(message)

    def _stop_requested(self) -> bool:
        """A child stopped already, a signal came, or run_demo is stopping the children."""
        return self.first_stop is not None or self.signal_name is not None or self.stopping


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
        printer = DemoPrinter(
            {name: " ".join(command[1:]) for name, command in commands.items()}, output=sys.stdout
        )
        manager = Manager(printer=printer)
        for name, command in commands.items():
            # `exec`: the shell honcho starts becomes the command, so its pid is the child's.
            manager.add_process(name, f"exec {shlex.join(command)}", env=env, cwd=settings.BASE_DIR)

        login_url = url.rstrip("/") + resolve_url(settings.LOGIN_URL)
        failure: list[str] = []
        watcher = threading.Thread(
            target=self._wait_until_up,
            args=(manager, printer, url, login_url, startup_timeout, password if seeded else None),
            kwargs={"failure": failure},
            daemon=True,
        )
        watcher.start()
        manager.loop()  # until every child has stopped
        printer.stopping = True

        if printer.first_stop is not None:
            name, code = printer.first_stop
            failure.append(f"{name} exited with code {code}; stopped the others.")
        if failure:
            raise CommandError(failure[-1])
        self._say("All stopped.")

    def _say(self, message: str) -> None:
        self.stdout.write(message)
        self.stdout.flush()

    def _wait_until_up(
        self, manager, printer, url, login_url, startup_timeout, password, *, failure
    ) -> None:
        """Show the banner once the web server answers; stop everything if it never does."""
        deadline = time.monotonic() + startup_timeout
        while printer.first_stop is None and printer.signal_name is None:
            if _answers_http(login_url):
                self._banner(url, password)
                return
            if time.monotonic() > deadline:
                failure.append(
                    f"The web server did not answer at {url} within {startup_timeout:g} s."
                )
                printer.stopping = True
                manager.terminate()
                return
            time.sleep(POLL_INTERVAL)

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
