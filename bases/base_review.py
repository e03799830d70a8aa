"""A base's figures for a school year (基地年度考核): how reliably it runs its sessions.

For the sessions of a base that start in the school year (1 September to 31 August):

- **recorded on time**: of the sessions not cancelled whose attendance was due (ended at least
  the requirement policy's `attendance_deadline_hours` ago, or already closed), those whose
  attendance was closed within that many hours of the end;
- **cancelled late**: sessions the base cancelled less than the reliability policy's
  `session_cancel_late_hours` before the start, of all it cancelled;
- **disputes against it**: disputes on its records (`PracticeRecord.organiser_ref`
  "base:<id>") answered in the school year by correcting or revoking the record, i.e. the
  objection was right (a dispute answered "upheld" means the record stood);
- **no-show rate**: no-shows among the settled seats (attended plus no-show) of its sessions
  not cancelled.

`base_figures` counts any number of bases in a fixed number of queries (the two policies, the
bases, then one grouped query each for sessions, applications and disputes). The review sheet
(`base_review_sheet`) writes the same figures through `portal.spreadsheets.write_workbook`.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import Count, F, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.spreadsheets import Sheet, write_workbook
from students.models import Dispute, DisputeStatus
from students.policies import reliability_policy_on
from students.progress import SCHOOL_YEAR_START_MONTH, school_year_label
from students.selectors import attendance_deadline_hours

from .models import Application, ApplicationStatus, Base, Session
from .organisers import base_organiser_ref

AGAINST_BASE = (DisputeStatus.CORRECTED, DisputeStatus.REVOKED)


def school_year_bounds(year: int) -> tuple[datetime, datetime]:
    """[1 September of `year`, 1 September of the next year) in the portal's time zone."""
    start = date(year, SCHOOL_YEAR_START_MONTH, 1)
    end = date(year + 1, SCHOOL_YEAR_START_MONTH, 1)
    return (
        timezone.make_aware(datetime.combine(start, time.min)),
        timezone.make_aware(datetime.combine(end, time.min)),
    )


def _percent(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


@dataclass
class BaseFigures:
    """One base's figures for a school year."""

    base_id: int
    code: str
    name: str
    district: str
    level: str
    sessions_due: int = 0
    recorded_on_time: int = 0
    cancelled: int = 0
    cancelled_late: int = 0
    disputes_against: int = 0
    seats_settled: int = 0
    no_shows: int = 0

    @property
    def on_time_percent(self) -> float | None:
        return _percent(self.recorded_on_time, self.sessions_due)

    @property
    def no_show_percent(self) -> float | None:
        return _percent(self.no_shows, self.seats_settled)

    @property
    def active(self) -> bool:
        return bool(
            self.sessions_due or self.cancelled or self.seats_settled or self.disputes_against
        )


@dataclass(frozen=True)
class ReviewRules:
    """The thresholds the figures were counted with, shown beside them."""

    year: int
    deadline_hours: int
    session_cancel_late_hours: int

    @property
    def label(self) -> str:
        return school_year_label(self.year)


def review_rules(*, year: int) -> ReviewRules:
    """The policies' thresholds: the current attendance deadline, the reliability policy in
    force at the end of the school year (or today, if sooner)."""
    _start, end = school_year_bounds(year)
    day = min(timezone.localdate(), timezone.localdate(end) - timedelta(days=1))
    return ReviewRules(
        year=year,
        deadline_hours=attendance_deadline_hours(),
        session_cancel_late_hours=reliability_policy_on(day).session_cancel_late_hours,
    )


def base_figures(
    *, bases: QuerySet[Base], year: int, now: datetime | None = None, active_only: bool = True
) -> tuple[ReviewRules, list[BaseFigures]]:
    """The rules used and each base's figures for school year `year`, by district and code."""
    now = now or timezone.now()
    rules = review_rules(year=year)
    start, end = school_year_bounds(year)
    deadline = timedelta(hours=rules.deadline_hours)
    late = timedelta(hours=rules.session_cancel_late_hours)
    figures = {
        base.pk: BaseFigures(
            base_id=base.pk,
            code=base.code,
            name=base.name,
            district=base.district.name,
            level=base.get_level_display(),
        )
        for base in bases.select_related("district").order_by("district__sort_order", "code")
    }
    sessions = Session.objects.filter(
        post__base__in=bases.values("pk"), starts_at__gte=start, starts_at__lt=end
    )
    held = Q(cancelled_at__isnull=True)
    for row in (
        sessions.order_by()
        .values("post__base_id")
        .annotate(
            due=Count(
                "id",
                filter=held
                & (Q(ends_at__lte=now - deadline) | Q(attendance_closed_at__isnull=False)),
            ),
            on_time=Count("id", filter=held & Q(attendance_closed_at__lte=F("ends_at") + deadline)),
            cancelled=Count("id", filter=Q(cancelled_at__isnull=False)),
            cancelled_late=Count("id", filter=Q(cancelled_at__gt=F("starts_at") - late)),
        )
    ):
        base = figures[row["post__base_id"]]
        base.sessions_due, base.recorded_on_time = row["due"], row["on_time"]
        base.cancelled, base.cancelled_late = row["cancelled"], row["cancelled_late"]
    for row in (
        Application.objects.filter(session__in=sessions.filter(held).values("pk"))
        .order_by()
        .values("session__post__base_id")
        .annotate(
            settled=Count(
                "id",
                filter=Q(status__in=[ApplicationStatus.ATTENDED, ApplicationStatus.NO_SHOW]),
            ),
            no_shows=Count("id", filter=Q(status=ApplicationStatus.NO_SHOW)),
        )
    ):
        base = figures[row["session__post__base_id"]]
        base.seats_settled, base.no_shows = row["settled"], row["no_shows"]
    refs = {base_organiser_ref(base_id=base_id): base_id for base_id in figures}
    for row in (
        Dispute.objects.filter(
            status__in=AGAINST_BASE,
            answered_at__gte=start,
            answered_at__lt=end,
            record__organiser_ref__in=list(refs),
        )
        .order_by()
        .values("record__organiser_ref")
        .annotate(n=Count("id"))
    ):
        figures[refs[row["record__organiser_ref"]]].disputes_against = row["n"]
    rows = list(figures.values())
    return rules, [f for f in rows if f.active] if active_only else rows


def base_review_header() -> list[str]:
    return [
        _("Base code"),
        _("Base"),
        _("District"),
        _("Level"),
        _("Sessions due for attendance"),
        _("Recorded on time"),
        _("Recorded on time (%)"),
        _("Sessions cancelled"),
        _("Cancelled late"),
        _("Disputes decided against the base"),
        _("Seats settled"),
        _("No-shows"),
        _("No-show rate (%)"),
    ]


def base_review_rows(figures: list[BaseFigures]):
    for f in figures:
        yield [
            f.code,
            f.name,
            f.district,
            f.level,
            f.sessions_due,
            f.recorded_on_time,
            "" if f.on_time_percent is None else f.on_time_percent,
            f.cancelled,
            f.cancelled_late,
            f.disputes_against,
            f.seats_settled,
            f.no_shows,
            "" if f.no_show_percent is None else f.no_show_percent,
        ]


def base_review_sheet(*, rules: ReviewRules, figures: list[BaseFigures]) -> bytes:
    """The annual base review sheet: the figures, then the rules they were counted with."""
    return write_workbook(
        [
            Sheet(
                title=rules.label,
                header=base_review_header(),
                rows=base_review_rows(figures),
                widths=(12, 28, 10, 16),
            ),
            Sheet(
                title=_("Rules"),
                header=[_("Rule"), _("Value")],
                rows=[
                    [_("School year"), rules.label],
                    [_("Hours to record attendance after a session"), rules.deadline_hours],
                    [
                        _("Hours before the start inside which a cancellation is late"),
                        rules.session_cancel_late_hours,
                    ],
                ],
                widths=(48, 16),
            ),
        ]
    )
