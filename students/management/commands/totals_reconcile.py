"""Compare the per-student totals (StudentTotal) with the ledger; fix or rebuild them."""

import time

from django.core.management.base import BaseCommand, CommandError

from students.progress import totals_differences, totals_rebuild

SHOWN = 20


class Command(BaseCommand):
    help = (
        "Compare every student's stored totals (volunteer minutes, practice days, records) "
        "with the full aggregate of the ledger and list the students that differ (there should "
        "be none). --fix refreshes those students' totals; --rebuild rewrites every student's "
        "totals from the ledger (after loading records in bulk). Exits with status 1 when "
        "differences were found and not fixed."
    )

    def add_arguments(self, parser):
        parser.add_argument("--fix", action="store_true", help="refresh the students that differ")
        parser.add_argument(
            "--rebuild", action="store_true", help="rewrite every student's totals first"
        )

    def handle(self, *args, fix=False, rebuild=False, **options):
        if rebuild:
            started = time.monotonic()
            count = totals_rebuild()
            self.stdout.write(
                f"Rebuilt the totals of {count} students in {time.monotonic() - started:.1f} s."
            )
            return
        started = time.monotonic()
        differences = totals_differences(fix=fix)
        seconds = time.monotonic() - started
        if not differences:
            self.stdout.write(f"Totals match the ledger for every student ({seconds:.1f} s).")
            return
        self.stdout.write(
            f"{len(differences)} students' totals differ from the ledger "
            "(volunteer minutes, practice days, records):"
        )
        for difference in differences[:SHOWN]:
            self.stdout.write(
                f"  student {difference.student_id}: stored {difference.stored}, "
                f"ledger {difference.ledger}"
            )
        if len(differences) > SHOWN:
            self.stdout.write(f"  … and {len(differences) - SHOWN} more")
        if fix:
            self.stdout.write(f"Fixed: their totals were refreshed ({seconds:.1f} s).")
            return
        raise CommandError("Totals differ from the ledger; run with --fix to refresh them.")
