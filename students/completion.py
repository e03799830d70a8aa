"""Completion by class, grade, school and district: how many students are done, on track,
at risk or behind. Every function reads `students.progress` (`completion_figures`: the totals
stored per student, grouped and forecast in the database, a few rows per group reach Python)
and makes four queries (the groups, the entry years, the policies, the grouped totals)
whatever the number of students.
"""

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from django.conf import settings
from django.core.cache import cache
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from districts.models import District
from portal.spreadsheets import write_xlsx

from .models import School, SchoolClass, Student
from .progress import (
    Forecast,
    GroupFigures,
    StudentProgress,
    StudentTotals,
    completion_figures,
    credit_hours,
)


@dataclass
class Completion:
    """How many students of a group are done, on track, at risk or behind."""

    key: object
    label: str
    url: str = ""
    students: int = 0
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(Forecast.values, 0))
    hours_met: int = 0
    days_met: int = 0
    volunteer_minutes: int = 0
    practice_days: int = 0
    minutes_per_credit_hour: int = 40
    # The greatest student id added with `add_figures`: its policy's minutes per 学时 is the
    # group's, as when students are added one by one in id order.
    last_student_id: int = 0

    def add_figures(self, figures: GroupFigures) -> None:
        """The students of `figures`, added all at once."""
        self.students += figures.students
        self.counts[figures.forecast] += figures.students
        self.hours_met += figures.students if figures.hours_done else 0
        self.days_met += figures.students if figures.days_done else 0
        self.volunteer_minutes += figures.volunteer_minutes
        self.practice_days += figures.practice_days
        if figures.last_student_id > self.last_student_id:
            self.last_student_id = figures.last_student_id
            self.minutes_per_credit_hour = figures.minutes_per_credit_hour

    def add(self, progress: StudentProgress | StudentTotals) -> None:
        self.students += 1
        self.counts[progress.forecast] += 1
        self.hours_met += progress.hours_done
        self.days_met += progress.days_done
        self.volunteer_minutes += progress.volunteer_minutes
        self.practice_days += progress.practice_days
        self.minutes_per_credit_hour = progress.minutes_per_credit_hour

    def merge(self, other: "Completion") -> None:
        self.students += other.students
        for state, count in other.counts.items():
            self.counts[state] += count
        self.hours_met += other.hours_met
        self.days_met += other.days_met
        self.volunteer_minutes += other.volunteer_minutes
        self.practice_days += other.practice_days
        self.minutes_per_credit_hour = other.minutes_per_credit_hour

    def _percent(self, count: int) -> int:
        return round(100 * count / self.students) if self.students else 0

    @property
    def done(self) -> int:
        return self.counts[Forecast.DONE]

    @property
    def on_track(self) -> int:
        return self.counts[Forecast.ON_TRACK]

    @property
    def at_risk(self) -> int:
        return self.counts[Forecast.AT_RISK]

    @property
    def behind(self) -> int:
        return self.counts[Forecast.BEHIND]

    @property
    def on_course(self) -> int:
        """Done or on track: no need to act."""
        return self.done + self.on_track

    @property
    def needs_attention(self) -> int:
        """At risk or behind: the students a teacher should talk to."""
        return self.at_risk + self.behind

    @property
    def done_percent(self) -> int:
        return self._percent(self.done)

    @property
    def on_track_percent(self) -> int:
        return self._percent(self.on_track)

    @property
    def at_risk_percent(self) -> int:
        return self._percent(self.at_risk)

    @property
    def behind_percent(self) -> int:
        return self._percent(self.behind)

    @property
    def on_course_percent(self) -> int:
        """Done or on track."""
        return self._percent(self.on_course)

    @property
    def average_hours(self) -> Decimal:
        if not self.students:
            return Decimal("0.0")
        return credit_hours(self.volunteer_minutes // self.students, self.minutes_per_credit_hour)

    @property
    def average_days(self) -> Decimal:
        if not self.students:
            return Decimal("0.0")
        return (Decimal(self.practice_days) / self.students).quantize(Decimal("0.1"))


def completion_by(
    students: QuerySet[Student], *, key_field: str, groups: Iterable[Completion], today=None
) -> list[Completion]:
    """One Completion per group (in the given order), students grouped by `key_field`; students
    marked as left are not counted."""
    result = {group.key: group for group in groups}
    for figures in completion_figures(students.counted(), key_field=key_field, today=today):
        group = result.get(figures.key)
        if group is not None:
            group.add_figures(figures)
    return list(result.values())


def completion_total(groups: Iterable[Completion], label: str, key: object = None) -> Completion:
    total = Completion(key=key, label=label)
    for group in groups:
        total.merge(group)
    return total


def no_url(obj: object) -> str:
    return ""


def grade_label(grade: int, entry_year: int) -> str:
    if 1 <= grade <= 3:
        return _("Grade %(grade)s (entry %(year)s)") % {"grade": grade, "year": entry_year}
    if grade > 3:
        return _("Graduated (entry %(year)s)") % {"year": entry_year}
    return _("Not yet started (entry %(year)s)") % {"year": entry_year}


@dataclass
class SchoolReport:
    school: School
    by_class: list[Completion]
    by_grade: list[Completion]
    total: Completion
    today: date


def school_reports(
    *, schools: list[School], class_url: Callable[[object], str] = no_url, today=None
) -> list[SchoolReport]:
    """Completion by class and by grade (entry year) of each school: four queries in all."""
    today = today or timezone.localdate()
    classes = list(
        SchoolClass.objects.filter(school__in=schools).order_by("school", "-entry_year", "number")
    )
    by_class = completion_by(
        Student.objects.filter(school_class__school__in=schools),
        key_field="school_class_id",
        groups=[Completion(key=c.pk, label=c.name, url=class_url(c)) for c in classes],
        today=today,
    )
    reports = []
    for school in schools:
        own = [(c, g) for c, g in zip(classes, by_class, strict=True) if c.school_id == school.pk]
        grades: dict[int, Completion] = {}
        for school_class, completion in own:
            year = school_class.entry_year
            label = grade_label(school_class.grade_on(today), year)
            grades.setdefault(year, Completion(key=year, label=label)).merge(completion)
        groups = [completion for _, completion in own]
        reports.append(
            SchoolReport(
                school=school,
                by_class=groups,
                by_grade=[grades[year] for year in sorted(grades, reverse=True)],
                total=completion_total(groups, _("School")),
                today=today,
            )
        )
    return reports


def school_report(
    *, school: School, class_url: Callable[[object], str] = no_url, today=None
) -> SchoolReport:
    """Completion by class and by grade of one school: four queries."""
    return school_reports(schools=[school], class_url=class_url, today=today)[0]


def district_report(
    *, district: District, school_url: Callable[[object], str] = no_url, today=None
) -> list[Completion]:
    """Completion by school of one district: four queries."""
    schools = School.objects.filter(district=district).order_by("code")
    return completion_by(
        Student.objects.filter(school_class__school__district=district),
        key_field="school_class__school_id",
        groups=[Completion(key=s.pk, label=s.display_name, url=school_url(s)) for s in schools],
        today=today,
    )


def city_report(*, district_url: Callable[[object], str] = no_url, today=None) -> list[Completion]:
    """Completion by district across the city: four queries."""
    districts = District.objects.order_by("sort_order", "code")
    return completion_by(
        Student.objects.all(),
        key_field="school_class__school__district_id",
        groups=[Completion(key=d.pk, label=d.name, url=district_url(d)) for d in districts],
        today=today,
    )


def completion_header(first: str) -> list[str]:
    return [
        first,
        _("Students"),
        _("Done"),
        _("On track"),
        _("At risk"),
        _("Behind"),
        _("Done %"),
        _("Done or on track %"),
        _("Met the hours"),
        _("Met the days"),
        _("Average credit hours"),
        _("Average practice days"),
    ]


def completion_rows(groups: Iterable[Completion]) -> Iterator[list]:
    for g in groups:
        yield [
            g.label,
            g.students,
            g.done,
            g.on_track,
            g.at_risk,
            g.behind,
            g.done_percent,
            g.on_course_percent,
            g.hours_met,
            g.days_met,
            g.average_hours,
            g.average_days,
        ]


def completion_xlsx(groups: list[Completion], *, first: str, title: str) -> bytes:
    return write_xlsx(completion_rows(groups), completion_header(first), title)


# ------------------------------------------------------------------------------
# The dashboards' tiles: completion by district, kept for a few minutes
# ------------------------------------------------------------------------------
CITY_TILES_CACHE_KEY = "completion:city-tiles"


@dataclass(frozen=True)
class CompletionTiles:
    """Each district's completion (by district id) and when it was counted."""

    by_district: dict[int, Completion]
    counted_at: datetime


def city_completion_tiles() -> CompletionTiles:
    """Completion by district as the dashboards show it, counted at most every few minutes.

    Counting every student of the city takes as long as the city report; the dashboards show
    the figures of the last count (with its time) for CITY_TILES_CACHE_SECONDS, the reports
    always count afresh.
    """
    tiles = cache.get(CITY_TILES_CACHE_KEY)
    if tiles is None:
        groups = city_report()
        tiles = CompletionTiles(
            by_district={group.key: group for group in groups}, counted_at=timezone.now()
        )
        cache.set(CITY_TILES_CACHE_KEY, tiles, settings.CITY_TILES_CACHE_SECONDS)
    return tiles
