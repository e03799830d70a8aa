"""`make bench` at scale S as a correctness smoke: every scenario runs end to end (gunicorn, the
load generator, the forked rush, the export children) and gives the same numbers as its baseline.
No timing is asserted.

It runs `bench/run.py` as `make bench` does, in a scratch database of the kind the suite runs on:
a SQLite file, or `<test database>_bench` on the PostgreSQL server (created and dropped here).
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = {
    "listing",
    "apply rush",
    "scan ingest",
    "class report",
    "city completion",
    "export",
    "import",
    "certificate PDF",
}


def _postgres() -> dict | None:
    database = settings.DATABASES["default"]
    return database if database["ENGINE"] == "django.db.backends.postgresql" else None


def _admin(database: dict, sql: str) -> None:
    import psycopg

    with psycopg.connect(
        host=database.get("HOST") or "127.0.0.1",
        port=database.get("PORT") or 5432,
        user=database.get("USER") or None,
        password=database.get("PASSWORD") or None,
        dbname="postgres",
        autocommit=True,
    ) as admin:
        admin.execute(sql)


@pytest.fixture
def bench_database_url(tmp_path):
    database = _postgres()
    if database is None:
        yield f"sqlite:///{tmp_path / 'bench.sqlite3'}"
        return
    name = f"{database.get('TEST', {}).get('NAME') or 'test_portal'}_bench"
    _admin(database, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    _admin(database, f'CREATE DATABASE "{name}"')
    user, password = database.get("USER") or "", database.get("PASSWORD") or ""
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = database.get("HOST") or "127.0.0.1"
    yield f"postgres://{auth}{host}:{database.get('PORT') or 5432}/{name}"
    _admin(database, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.long
def test_every_scenario_gives_its_baselines_numbers_at_scale_s(bench_database_url, tmp_path):
    env = {
        **os.environ,
        "DATABASE_URL": bench_database_url,
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "MEDIA_ROOT": str(tmp_path / "media"),
        "EVALUATION_EXPORT_DIR": str(tmp_path / "drop"),
    }
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=600,
    )
    run = subprocess.run(
        [sys.executable, "bench/run.py", "--scale", "S", "--repeat", "1"]
        + ["--output-dir", str(tmp_path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert (tmp_path / "results.json").exists(), run.stdout[-3000:] + run.stderr[-3000:]
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["scale"] == "S"
    by_name = {r["scenario"]: r for r in results["scenarios"]}
    assert set(by_name) == SCENARIOS
    wrong = {name: r["details"] for name, r in by_name.items() if not r["correct"]}
    assert not wrong, json.dumps(wrong, ensure_ascii=False, default=str)[:4000]
    assert run.returncode == 0, run.stdout[-3000:]
    for r in results["scenarios"]:
        assert r["portal"] is not None and r["baseline"], r["scenario"]
    table = (tmp_path / "results.md").read_text()
    assert all(f"| {name} |" in table for name in SCENARIOS)
