"""`make bench`: run the benchmark scenarios and write bench/results.json and bench/results.md.

    .venv/bin/python bench/run.py [--scale S|M] [--only NAME] [--repeat N] [--explain]

Uses DJANGO_SETTINGS_MODULE (default portal.settings.local) and DATABASE_URL. A database with no
students is first loaded with `manage.py seed_bench --scale <scale>`; one that has data is
measured as it is. Exits 1 if a scenario's result is wrong (whatever its speed).
"""

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings.local")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="S", help="scale to load if the database is empty")
    parser.add_argument("--only", action="append", help="run only this scenario (repeatable)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per scenario (median)")
    parser.add_argument("--explain", action="store_true", help="store EXPLAIN ANALYZE output")
    parser.add_argument("--output-dir", type=Path, default=ROOT / "bench")
    args = parser.parse_args(argv)

    import django

    django.setup()
    from django.core.management import call_command

    from bench import city_completion  # noqa: F401  (registers its scenario)
    from bench.harness import SCENARIOS, Context, run_scenario, write_results
    from students.models import Student

    started = time.perf_counter()
    if not Student.objects.exists():
        print(f"No students in the database: loading scale {args.scale} first.", flush=True)
        call_command("seed_bench", scale=args.scale)
    unknown = set(args.only or []) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenario(s): {', '.join(sorted(unknown))}; known: {list(SCENARIOS)}")
    ctx = Context(scale=scale_of_data(args.scale), repeat=args.repeat, explain=args.explain)
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
            f"correct={result['correct']}",
            flush=True,
        )
    args.output_dir.mkdir(parents=True, exist_ok=True)
    write_results(results, ctx, args.output_dir, started)
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
