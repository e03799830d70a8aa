"""Close the school year on a date: graduates' records final, their logins disabled later."""

from datetime import date

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from students.school_year import (
    SchoolYearError,
    YearClosePlan,
    school_year_close,
    school_year_close_plan,
)


class Command(BaseCommand):
    help = (
        "Close the school year that the given date falls in (default: today): the third grade "
        "graduates, their records in public notice become final and go out in the next export, "
        "and their logins are disabled after the grace period. Running it again changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("--on", type=date.fromisoformat, help="the closing date, YYYY-MM-DD")
        parser.add_argument("--grace-days", type=int, help="days before logins are disabled")
        parser.add_argument("--dry-run", action="store_true", help="show what it would do")

    def handle(self, *args, on=None, grace_days=None, dry_run=False, **options):
        closed_on = on or timezone.localdate()
        plan = school_year_close_plan(closed_on=closed_on, grace_days=grace_days)
        self._show(plan)
        if plan.done is not None:
            self.stdout.write(
                f"School year {plan.label} was closed on {plan.done.closed_on}; nothing to do."
            )
            return
        if dry_run:
            self.stdout.write("Dry run: nothing was changed.")
            return
        try:
            close, _created = school_year_close(
                closed_on=closed_on, closed_by=None, grace_days=grace_days
            )
        except SchoolYearError as error:
            raise CommandError(error.message) from error
        self.stdout.write(
            f"Closed school year {close}: {close.records_finalised} records made final; "
            f"graduates' logins disabled on {close.logins_disable_on}."
        )

    def _show(self, plan: YearClosePlan) -> None:
        self.stdout.write(
            f"School year {plan.label}, closed on {plan.closed_on}: "
            f"{plan.graduates} graduates (entry year {plan.graduating_entry_year}), "
            f"{plan.graduates_with_login} with a login, disabled on {plan.logins_disable_on}; "
            f"{plan.records_to_finalise} records in notice become final; "
            f"{plan.disputes_open} disputed records wait for their answer."
        )
        for district, count in plan.by_district:
            self.stdout.write(f"  {district}: {count}")
