"""A gunicorn on loopback against the bench database, and a load generator for it.

`Gunicorn(workers=4)` starts `gunicorn portal.wsgi` (sync workers, as the README deploys it) on a
free port of 127.0.0.1 with DJANGO_SETTINGS_MODULE=bench.settings, waits until it answers, and
stops it (SIGTERM, then SIGKILL) on exit. `load(...)` drives it for a fixed time with `wrk` when
it is installed (`apt-get install wrk`), else with Python processes and threads (http.client);
both report requests/s, latency percentiles and every answer that was not a 200.
"""

import http.client
import json
import multiprocessing
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_WORKERS = 4  # 2 x cores, as the README's `gunicorn portal.wsgi -w 4`


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Gunicorn:
    """gunicorn serving the portal (bench URLconf) on 127.0.0.1:<free port>."""

    def __init__(self, *, workers: int = DEFAULT_WORKERS, env: dict | None = None):
        self.workers = workers
        self.port = free_port()
        self.env = {**os.environ, **(env or {})}
        self.env["DJANGO_SETTINGS_MODULE"] = "bench.settings"
        self.env.setdefault("DATABASE_CONN_MAX_AGE", "60")
        self.env.setdefault("PYTHONPATH", str(ROOT))
        self.log = tempfile.NamedTemporaryFile(  # noqa: SIM115  (open while gunicorn runs)
            prefix="bench-gunicorn-", suffix=".log", delete=False
        )
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> "Gunicorn":
        gunicorn = Path(sys.executable).with_name("gunicorn")
        command = [str(gunicorn) if gunicorn.exists() else "gunicorn", "portal.wsgi:application"]
        command += ["--workers", str(self.workers), "--bind", f"127.0.0.1:{self.port}"]
        command += ["--worker-class", "sync", "--timeout", "120", "--graceful-timeout", "5"]
        command += ["--backlog", "2048", "--log-level", "warning"]
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {self.log_tail()}")
            try:
                status, _ = get(self.url + "/bench/nodb/")
                if status == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.2)
        self.__exit__(None, None, None)
        raise RuntimeError(f"gunicorn did not answer within 60 s: {self.log_tail()}")

    def __exit__(self, *exc) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.log.close()
        Path(self.log.name).unlink(missing_ok=True)

    def log_tail(self, lines: int = 20) -> str:
        self.log.flush()
        return "\n".join(Path(self.log.name).read_text(errors="replace").splitlines()[-lines:])


def get(url: str, *, headers: dict | None = None, timeout: float = 60) -> tuple[int, bytes]:
    """One GET on a fresh connection: (status, body)."""
    host, _, rest = url.removeprefix("http://").partition("/")
    connection = http.client.HTTPConnection(host, timeout=timeout)
    try:
        connection.request("GET", "/" + rest, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def post(url: str, body: bytes, *, headers: dict, timeout: float = 300) -> tuple[int, bytes]:
    host, _, rest = url.removeprefix("http://").partition("/")
    connection = http.client.HTTPConnection(host, timeout=timeout)
    try:
        connection.request("POST", "/" + rest, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


# ------------------------------------------------------------------------------
# Load
# ------------------------------------------------------------------------------
@dataclass
class Load:
    """What a timed run of GETs gave: rate, latency percentiles (ms) and non-200 answers."""

    tool: str
    requests: int
    seconds: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    errors: int
    connections: int
    details: dict = field(default_factory=dict)

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict:
        return {
            "tool": self.tool,
            "requests": self.requests,
            "seconds": round(self.seconds, 2),
            "requests_per_s": round(self.per_second, 1),
            "p50_ms": round(self.p50_ms, 1),
            "p95_ms": round(self.p95_ms, 1),
            "p99_ms": round(self.p99_ms, 1),
            "errors": self.errors,
            "connections": self.connections,
            **self.details,
        }


WRK_SCRIPT = r"""
local threads = {}
local counter = 1
function setup(thread)
  thread:set("id", counter)
  table.insert(threads, thread)
  counter = counter + 1
end
function init(args)
  paths = {}
  for line in io.lines(args[1]) do table.insert(paths, line) end
  cookies = {}
  for line in io.lines(args[2]) do table.insert(cookies, line) end
  n = 0
  bad = 0
  cookie = cookies[(id - 1) % #cookies + 1]
end
function request()
  n = n + 1
  local path = paths[(n * 7 + id) % #paths + 1]
  if cookie == "-" then return wrk.format("GET", path) end
  return wrk.format("GET", path, {["Cookie"] = cookie})
end
function response(status, headers, body)
  if status ~= 200 then bad = bad + 1 end
end
function done(summary, latency, requests)
  local notok = 0
  for _, t in ipairs(threads) do notok = notok + t:get("bad") end
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests": %d, "seconds": %f, "p50_ms": %f, "p95_ms": %f, "p99_ms": %f, ' ..
    '"not_200": %d, "connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1000,
    latency:percentile(95) / 1000, latency:percentile(99) / 1000, notok,
    e.connect, e.read, e.write, e.status, e.timeout))
end
"""


def wrk_available() -> bool:
    return shutil.which("wrk") is not None and os.environ.get("BENCH_NO_WRK") != "1"


def load(
    base_url: str,
    paths: list[str],
    *,
    cookies: list[str],
    seconds: float,
    connections: int = 16,
    threads: int = 2,
) -> Load:
    """GET `paths` in turn for `seconds` over `connections` connections, each with a cookie."""
    if wrk_available():
        return _wrk(base_url, paths, cookies, seconds, connections, threads)
    return _python_load(base_url, paths, cookies, seconds, connections, threads)


def _wrk(base_url, paths, cookies, seconds, connections, threads) -> Load:
    with tempfile.TemporaryDirectory(prefix="bench-wrk-") as folder:
        script, path_file, cookie_file = (Path(folder) / n for n in ("s.lua", "paths", "cookies"))
        script.write_text(WRK_SCRIPT)
        path_file.write_text("\n".join(paths) + "\n")
        cookie_file.write_text("\n".join(cookies or ["-"]) + "\n")
        command = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds:g}s"]
        command += ["--timeout", "30s", "-s", str(script), base_url, "--"]
        command += [str(path_file), str(cookie_file)]
        done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 120)
    line = next((x for x in done.stdout.splitlines() if x.startswith("BENCH ")), None)
    if line is None:
        raise RuntimeError(f"wrk gave no result: {done.stdout[-2000:]} {done.stderr[-2000:]}")
    data = json.loads(line.removeprefix("BENCH "))
    socket_errors = sum(data[k] for k in ("connect", "read", "write", "timeout"))
    return Load(
        tool=f"wrk -t{threads} -c{connections}",
        requests=data["requests"],
        seconds=data["seconds"],
        p50_ms=data["p50_ms"],
        p95_ms=data["p95_ms"],
        p99_ms=data["p99_ms"],
        errors=data["not_200"] + data["status"] + socket_errors,
        connections=connections,
        details={"socket_errors": socket_errors, "not_200": data["not_200"]},
    )


def _python_worker(base_url, paths, cookies, seconds, threads, offset, start_at, results):
    host = base_url.removeprefix("http://")
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()

    def run(index: int) -> None:
        cookie = cookies[(offset + index) % len(cookies)] if cookies else None
        headers = {"Cookie": cookie} if cookie else {}
        connection = http.client.HTTPConnection(host, timeout=30)
        mine, bad, n = [], 0, offset + index
        while time.monotonic() < start_at:
            time.sleep(0.001)
        deadline = start_at + seconds
        while (now := time.perf_counter()) and time.monotonic() < deadline:
            n += 7
            try:
                connection.request("GET", paths[n % len(paths)], headers=headers)
                response = connection.getresponse()
                response.read()
                if response.status != 200:
                    bad += 1
            except (OSError, http.client.HTTPException):
                bad += 1
                connection.close()
                connection = http.client.HTTPConnection(host, timeout=30)
                continue
            mine.append((time.perf_counter() - now) * 1000)
        connection.close()
        with lock:
            latencies.extend(mine)
            errors[0] += bad

    workers = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    results.put((latencies, errors[0]))


def _python_load(base_url, paths, cookies, seconds, connections, threads) -> Load:
    """Fallback without wrk: `threads` processes sharing `connections` keep-alive clients."""
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    processes = max(1, threads)
    per_process = [
        connections // processes + (i < connections % processes) for i in range(processes)
    ]
    start_at = time.monotonic() + 2.0  # every process ready before the clock starts
    workers = [
        context.Process(
            target=_python_worker,
            args=(base_url, paths, cookies, seconds, n, sum(per_process[:i]), start_at, results),
        )
        for i, n in enumerate(per_process)
        if n
    ]
    for worker in workers:
        worker.start()
    latencies, errors = [], 0
    for _ in workers:
        mine, bad = results.get(timeout=seconds + 120)
        latencies.extend(mine)
        errors += bad
    for worker in workers:
        worker.join()
    return Load(
        tool=f"python ({len(workers)} processes, {connections} keep-alive clients)",
        requests=len(latencies) + errors,
        seconds=seconds,
        p50_ms=percentile(latencies, 50),
        p95_ms=percentile(latencies, 95),
        p99_ms=percentile(latencies, 99),
        errors=errors,
        connections=connections,
    )


def percentile(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(p) - 1]
