"""A private redis-server to stop and start, and pointing the Celery app at another broker."""

import os
import socket
import subprocess
from contextlib import contextmanager

from django.conf import settings
from kombu import pools

from portal.celery import app
from tests.waiting import wait_until


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class RedisServer:
    """redis-server on a port of its own, nothing saved: stopping it is an outage of Redis."""

    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> "RedisServer":
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1"]
            + ["--save", "", "--appendonly", "no", "--daemonize", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        assert wait_until(self._answers, timeout=10), "redis-server did not start"
        return self

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as conn:
                conn.sendall(b"PING\r\n")
                return conn.recv(16).startswith(b"+PONG")
        except OSError:
            return False


@contextmanager
def broker_at(url: str):
    """Point the Celery app (publishers and workers started inside) at `url`, then back."""
    saved = (app.conf.broker_url, app.conf.broker_transport_options)
    saved_env = os.environ.get("CELERY_BROKER_URL")
    _use(url, _redis_options())
    try:
        yield
    finally:
        _use(*saved)
        if saved_env is None:
            os.environ.pop("CELERY_BROKER_URL", None)


def _redis_options() -> dict:
    timeout = settings.CELERY_BROKER_TIMEOUT
    return {"socket_connect_timeout": timeout, "socket_timeout": timeout}


def _use(url: str, options: dict) -> None:
    # The app keeps pools of connections (kombu's, shared) to the broker it used: drop them.
    pools.reset()
    app._pool = None
    app.amqp._producer_pool = None
    # Celery reads CELERY_BROKER_URL from the environment before its own setting.
    os.environ["CELERY_BROKER_URL"] = url
    app.conf.broker_url = url
    app.conf.broker_transport_options = options
