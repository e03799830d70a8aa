"""Figures for the district and city dashboards that cross apps: bases' use and overdue rosters.

Only the dashboards read this module: they sit on the top floor and may read every app. Each
function makes a fixed number of queries, whatever the number of bases or sessions.
"""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time

from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from bases.models import LIVE_STATUSES, Attendance, Base, Session
from bases.selectors import application_list_for_student, sessions_attendance_overdue
from districts.models import District
from evaluation_export.models import BatchStatus, ExportedLine
from students.charts import Bar, Segment, hbar_chart
from students.models import PracticeRecord
from students.progress import school_year_label, school_year_of
from students.selectors import student_records

USE_CHART_LIMIT = 15


@dataclass
class BaseUse:
    """Seats offered (capacity), taken and attended over the sessions of a period.

    `taken_ended` and `attended_ended` count the sessions that have ended: only their seats could
    have been attended, so the attendance rate is `attended_ended / taken_ended` (a session still
    to come or still running would skew it for nothing).
    """

    key: int
    label: str
    sessions: int = 0
    offered: int = 0
    taken: int = 0
    taken_ended: int = 0
    attended: int = 0
    attended_ended: int = 0
    overdue: int = 0

    @property
    def taken_percent(self) -> int:
        return round(100 * self.taken / self.offered) if self.offered else 0

    @property
    def attended_percent(self) -> int:
        return round(100 * self.attended_ended / self.taken_ended) if self.taken_ended else 0


def school_year_period(today: date | None = None) -> tuple[datetime, datetime, str]:
    """The current school year as [1 September, next 1 September) in Asia/Shanghai."""
    year = school_year_of(today or timezone.localdate())
    start = timezone.make_aware(datetime.combine(date(year, 9, 1), time.min))
    end = timezone.make_aware(datetime.combine(date(year + 1, 9, 1), time.min))
    return start, end, school_year_label(year)


def _use(
    groups: list[BaseUse],
    sessions: QuerySet[Session],
    key: str,
    attendance_key: str,
    now: datetime | None,
) -> list[BaseUse]:
    by_key = {group.key: group for group in groups}
    now = now or timezone.now()
    ended = Q(ends_at__lte=now)
    for row in (
        sessions.order_by()
        .values(key)
        .annotate(
            n=Count("id"),
            offered=Sum("capacity"),
            seats_taken=Sum("taken"),
            seats_taken_ended=Sum("taken", filter=ended, default=0),
        )
    ):
        group = by_key.get(row[key])
        if group is not None:
            group.sessions, group.offered = row["n"], row["offered"]
            group.taken, group.taken_ended = row["seats_taken"], row["seats_taken_ended"]
    attended = (
        Attendance.objects.filter(session__in=sessions.values("pk"), checked_in_at__isnull=False)
        .order_by()
        .values(attendance_key)
        .annotate(n=Count("id"), ended=Count("id", filter=Q(session__ends_at__lte=now)))
    )
    for row in attended:
        group = by_key.get(row[attendance_key])
        if group is not None:
            group.attended, group.attended_ended = row["n"], row["ended"]
    return groups


def base_use_for_district(
    *, district: District, start: datetime, end: datetime, now: datetime | None = None
) -> list[BaseUse]:
    """Each base of the district with sessions in [start, end), busiest first: three queries.

    The attendance rate counts the sessions ended by `now` (the current time by default)."""
    bases = Base.objects.filter(district=district).order_by("code")
    sessions = Session.objects.filter(
        post__base__district=district, starts_at__gte=start, starts_at__lt=end
    )
    groups = _use(
        [BaseUse(key=base.pk, label=base.name) for base in bases],
        sessions,
        "post__base_id",
        "session__post__base_id",
        now,
    )
    return sorted((g for g in groups if g.sessions), key=lambda g: (-g.offered, g.label))


def base_use_by_district(
    *, start: datetime, end: datetime, now: datetime | None = None
) -> list[BaseUse]:
    """The bases' use of each district in [start, end): three queries (rate as above)."""
    districts = District.objects.order_by("sort_order", "code")
    sessions = Session.objects.filter(starts_at__gte=start, starts_at__lt=end)
    return _use(
        [BaseUse(key=d.pk, label=d.name) for d in districts],
        sessions,
        "post__base__district_id",
        "session__post__base__district_id",
        now,
    )


def base_use_chart(groups: list[BaseUse]) -> dict:
    """Offered, taken and attended seats drawn over each other, for the busiest groups."""
    bars = [
        Bar(
            label=g.label,
            note=f"{g.offered} / {g.taken} / {g.attended}",
            segments=[
                Segment(g.offered, "seg-offered", _("Seats offered: %(n)s") % {"n": g.offered}),
                Segment(g.taken, "seg-taken", _("Seats taken: %(n)s") % {"n": g.taken}),
                Segment(g.attended, "seg-attended", _("Attended: %(n)s") % {"n": g.attended}),
            ],
        )
        for g in groups[:USE_CHART_LIMIT]
    ]
    return hbar_chart(bars, stacked=False)


def base_use_legend() -> list[tuple[str, str]]:
    return [
        ("seg-offered", _("Seats offered")),
        ("seg-taken", _("Seats taken")),
        ("seg-attended", _("Attended")),
    ]


def base_use_header(first: str) -> list[str]:
    return [
        first,
        _("Sessions"),
        _("Seats offered"),
        _("Seats taken"),
        _("Attended"),
        _("Taken %"),
        _("Attended / taken in ended sessions (%)"),
    ]


def base_use_rows(groups: Iterable[BaseUse]) -> Iterator[list]:
    for g in groups:
        yield [
            g.label,
            g.sessions,
            g.offered,
            g.taken,
            g.attended,
            g.taken_percent,
            g.attended_percent,
        ]


def overdue_counts_by_district(*, now: datetime) -> dict[int, int]:
    """{district id: sessions whose attendance is overdue}: one query."""
    rows = (
        sessions_attendance_overdue(now=now)
        .order_by()
        .values("post__base__district_id")
        .annotate(n=Count("id"))
    )
    return {row["post__base__district_id"]: row["n"] for row in rows}


def overdue_header() -> list[str]:
    return [_("Base"), _("Post"), _("Starts"), _("Ends"), _("District")]


def overdue_rows(sessions: Iterable[Session]) -> Iterator[list]:
    for s in sessions:
        yield [s.post.base.name, s.post.title, s.starts_at, s.ends_at, s.post.base.district.name]


# ------------------------------------------------------------------------------
# The student dashboard
# ------------------------------------------------------------------------------
def records_with_export_state(*, student) -> QuerySet[PracticeRecord]:
    """The student's records, each annotated with whether a done export batch sent it."""
    sent = ExportedLine.objects.filter(record=OuterRef("pk"), batch__status=BatchStatus.DONE)
    return student_records(student=student).annotate(
        sent_now=Exists(sent.filter(version=OuterRef("version"))), sent_before=Exists(sent)
    )


def export_state(record: PracticeRecord) -> str:
    """ "exported", "outdated" (an older version was sent) or "" (not sent yet)."""
    if record.sent_now:
        return "exported"
    return "outdated" if record.sent_before else ""


def upcoming_applications(*, student, now: datetime, limit: int = 5):
    """The student's live applications for sessions still to come, soonest first: one query."""
    return list(
        application_list_for_student(student=student)
        .filter(session__starts_at__gte=now, status__in=LIVE_STATUSES)
        .select_related("session__post__base")
        .order_by("session__starts_at", "id")[:limit]
    )
