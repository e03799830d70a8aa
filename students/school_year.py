"""Turning the school year: graduates finalised and, after a grace period, signed out for good.

Grades follow from a class's entry year and the date (`SchoolClass.grade_on`), and the policy of
a new entry year applies to its classes by itself (`policy_for_entry_year`), so on 1 September
every class is a grade up without anything being written. What the close of a year does is the
graduates' part: their records still in public notice become final (and so go out in the next
export), and their logins are disabled once the grace period after the close has passed. Their
records, certificates and certificate verification pages stay as they are.

Closing a year twice changes nothing; `school_year_close_plan` shows what a close would do.
"""

from dataclasses import dataclass, field
from datetime import date, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _

from districts.models import District
from portal.models import User
from portal.services import audit_log_record

from .models import PracticeRecord, RecordStatus, SchoolYearClose, Student
from .progress import school_year_of


class SchoolYearError(Exception):
    def __init__(self, message: str, *, code: str):
        super().__init__(message)
        self.message, self.code = message, code


@dataclass
class YearClosePlan:
    """What closing the school year on `closed_on` does (or did, when `done` is set)."""

    school_year: int
    closed_on: date
    graduating_entry_year: int
    grace_days: int
    logins_disable_on: date
    graduates: int = 0
    graduates_with_login: int = 0
    records_to_finalise: int = 0
    disputes_open: int = 0
    by_district: list[tuple[str, int]] = field(default_factory=list)
    done: SchoolYearClose | None = None

    @property
    def label(self) -> str:
        return f"{self.school_year}-{self.school_year + 1}"


def _graduates(entry_year: int):
    return Student.objects.filter(school_class__entry_year=entry_year)


def school_year_close_plan(*, closed_on: date, grace_days: int | None = None) -> YearClosePlan:
    """The close of the school year `closed_on` falls in, counted without writing anything."""
    grace = settings.SCHOOL_YEAR_LOGIN_GRACE_DAYS if grace_days is None else grace_days
    school_year = school_year_of(closed_on)
    entry_year = school_year - 2
    graduates = _graduates(entry_year)
    records = PracticeRecord.objects.filter(student__in=graduates)
    counts = dict(
        graduates.values("school_class__school__district")
        .annotate(n=Count("pk"))
        .values_list("school_class__school__district", "n")
        .order_by()
    )
    districts = District.objects.filter(pk__in=counts).order_by("sort_order", "code")
    return YearClosePlan(
        school_year=school_year,
        closed_on=closed_on,
        graduating_entry_year=entry_year,
        grace_days=grace,
        logins_disable_on=closed_on + timedelta(days=grace),
        graduates=graduates.count(),
        graduates_with_login=graduates.filter(user__isnull=False).count(),
        records_to_finalise=records.filter(status=RecordStatus.IN_NOTICE).count(),
        disputes_open=records.filter(status=RecordStatus.DISPUTED).count(),
        by_district=[(district.name, counts[district.pk]) for district in districts],
        done=SchoolYearClose.objects.filter(school_year=school_year).first(),
    )


@transaction.atomic
def school_year_close(
    *, closed_on: date, closed_by: User | None, grace_days: int | None = None
) -> tuple[SchoolYearClose, bool]:
    """Close the school year `closed_on` falls in; returns (the close, whether it is new).

    A year already closed is returned as it is: a second run changes nothing. Disputed records
    of graduates stay disputed until the dispute is answered (then the usual rules apply).
    """
    plan = school_year_close_plan(closed_on=closed_on, grace_days=grace_days)
    if closed_on > timezone.localdate():
        raise SchoolYearError(
            _("A school year can be closed on today's date or an earlier one, not in advance."),
            code="future_date",
        )
    close, created = SchoolYearClose.objects.get_or_create(
        school_year=plan.school_year,
        defaults={
            "closed_on": closed_on,
            "graduating_entry_year": plan.graduating_entry_year,
            "grace_days": plan.grace_days,
            "logins_disable_on": plan.logins_disable_on,
            "closed_by": closed_by if closed_by is not None and closed_by.pk else None,
            "graduates": plan.graduates,
        },
    )
    if not created:
        return close, False
    now = timezone.now()
    finalised = PracticeRecord.objects.filter(
        student__in=_graduates(plan.graduating_entry_year), status=RecordStatus.IN_NOTICE
    ).update(status=RecordStatus.FINAL, confirmed_at=now, updated_at=now)
    close.records_finalised = finalised
    close.save(update_fields=["records_finalised"])
    audit_log_record(
        actor=closed_by,
        action="school_year.close",
        target=close,
        data={
            "closed_on": closed_on.isoformat(),
            "graduating_entry_year": plan.graduating_entry_year,
            "graduates": plan.graduates,
            "records_finalised": finalised,
            "logins_disable_on": plan.logins_disable_on.isoformat(),
        },
    )
    graduate_logins_disable_due(today=timezone.localdate())
    return close, True


@transaction.atomic
def graduate_logins_disable_due(*, today: date | None = None) -> int:
    """Disable the logins of graduates whose grace period has passed; returns how many."""
    today = today or timezone.localdate()
    disabled = 0
    due = SchoolYearClose.objects.select_for_update().filter(
        logins_disable_on__lte=today, logins_disabled_at=None
    )
    for close in due:
        users = User.objects.filter(
            student__school_class__entry_year__lte=close.graduating_entry_year, is_active=True
        )
        count = users.update(is_active=False)
        close.logins_disabled_at = timezone.now()
        close.save(update_fields=["logins_disabled_at"])
        audit_log_record(
            actor=None, action="school_year.logins_disable", target=close, data={"users": count}
        )
        disabled += count
    return disabled
