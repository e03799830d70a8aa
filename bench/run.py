"""`make bench`: run the benchmark scenarios and write bench/results.json and bench/results.md.

    .venv/bin/python bench/run.py [--scale S|M] [--only NAME] [--repeat N] [--explain]

Uses DATABASE_URL and DJANGO_SETTINGS_MODULE (default bench.settings: the portal's settings with
DEBUG off and the bench URLconf). A database with no students is first loaded with
`bench/seed.py --scale <scale>`; one that has data is measured as it is. Files the
scenarios write (exports, uploaded sheets) go to a temporary MEDIA_ROOT, removed at the end.
Exits 1 if a scenario's result is wrong (whatever its speed).

Scenarios (README "Performance"): listing, apply rush, scan ingest, class report, city
completion, export, import, certificate PDF; each measures its baseline in the same run.
"""

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")


SCENARIO_MODULES = (
    "bench.listing",
    "bench.apply_rush",
    "bench.scan_ingest",
    "bench.class_report",
    "bench.city_completion",
    "bench.export",
    "bench.imports",
    "bench.certificates",
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="S", help="scale to load if the database is empty")
    parser.add_argument("--only", action="append", help="run only this scenario (repeatable)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per scenario (median)")
    parser.add_argument("--explain", action="store_true", help="store EXPLAIN ANALYZE output")
    parser.add_argument("--output-dir", type=Path, default=ROOT / "bench")
    args = parser.parse_args(argv)
    scratch = tempfile.mkdtemp(prefix="bench-media-")
    os.environ.setdefault("MEDIA_ROOT", scratch)
    os.environ.setdefault("EVALUATION_EXPORT_DIR", os.path.join(scratch, "drop"))
    try:
        return run(args, parser)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def run(args, parser) -> int:
    import django

    django.setup()
    import importlib

    from bench.harness import SCENARIOS, Context, busy_processes, run_scenario, write_results
    from bench.seed import bench_seed
    from students.models import Student

    for module in SCENARIO_MODULES:  # each registers its scenario(s), in the table's order
        importlib.import_module(module)

    started = time.perf_counter()
    if not Student.objects.exists():
        print(f"No students in the database: loading scale {args.scale} first.", flush=True)
        bench_seed(scale=args.scale)
    unknown = set(args.only or []) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenario(s): {', '.join(sorted(unknown))}; known: {list(SCENARIOS)}")
    ctx = Context(scale=scale_of_data(args.scale), repeat=args.repeat, explain=args.explain)
    others = busy_processes()
    results = []
    for name, item in SCENARIOS.items():
        if args.only and name not in args.only:
            continue
        print(f"{name} …", flush=True)
        result = run_scenario(item, ctx)
        results.append(result)
        print(
            f"  portal {result['portal']} {result['unit']}, baseline {result['baseline']}, "
            f"ratio {result['ratio']}, goal {result['goal']}: met={result['met']}, "
            f"correct={result['correct']} ({result['seconds']} s)",
            flush=True,
        )
        if result["details"].get("error"):
            print(f"  error: {result['details']['error']}", flush=True)
    args.output_dir.mkdir(parents=True, exist_ok=True)
    write_results(results, ctx, args.output_dir, started, {"other_processes": others})
    print(f"Wrote {args.output_dir / 'results.md'} and results.json.")
    return 0 if all(r["correct"] for r in results) else 1


def scale_of_data(asked: str) -> str:
    """The scale whose student count the database holds (what was loaded, whatever was asked)."""
    from bench.generate import SCALES
    from students.models import Student

    students = Student.objects.count()
    return next((name for name, s in SCALES.items() if s.students == students), f"custom ({asked})")


if __name__ == "__main__":
    sys.exit(main())
