"""The class report: every student of a class with their progress, and its xlsx and PDF.

It reads `students.progress` in four queries (students, categories, policies, ledger), whatever
the size of the class. Completion by class, grade, school and district is in `completion.py`.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import QuerySet
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from portal.spreadsheets import write_xlsx

from .models import Category, SchoolClass, Student
from .pdf import html_to_pdf
from .progress import (
    FORECAST_RANK,
    Forecast,
    StudentProgress,
    Tally,
    progress_for_entry_years,
)

ATTENTION = "attention"
STATE_CHOICES = [(ATTENTION, gettext_lazy("At risk or behind")), *Forecast.choices]


def states_for(choice: str) -> set[str]:
    """The forecasts a state filter value selects; empty means all."""
    if choice == ATTENTION:
        return {Forecast.AT_RISK, Forecast.BEHIND}
    return {choice} if choice in Forecast.values else set()


# ------------------------------------------------------------------------------
# The class report
# ------------------------------------------------------------------------------
@dataclass
class ClassReportRow:
    """One student of the class with their progress; attributes named for sorting."""

    student: Student
    progress: StudentProgress
    categories: dict[str, Tally]
    cells: list[Tally]

    @property
    def name(self) -> str:
        return self.student.name

    @property
    def student_number(self) -> str:
        return self.student.student_number

    @property
    def credit_hours(self) -> Decimal:
        return self.progress.credit_hours

    @property
    def practice_days(self) -> int:
        return self.progress.practice_days

    @property
    def forecast(self) -> str:
        return self.progress.forecast

    @property
    def forecast_rank(self) -> int:
        return FORECAST_RANK[self.progress.forecast]

    @property
    def disputed(self) -> int:
        return self.progress.disputed.records


@dataclass
class ClassReport:
    school_class: SchoolClass
    categories: list[Category]
    rows: list[ClassReportRow]
    today: date

    @property
    def hours_required(self) -> int | None:
        return self.rows[0].progress.hours_required if self.rows else None

    @property
    def days_required(self) -> int | None:
        return self.rows[0].progress.days_required if self.rows else None

    def counts(self) -> dict[str, int]:
        counts = {value: 0 for value in Forecast.values}
        for row in self.rows:
            counts[row.forecast] += 1
        return counts

    def filtered(self, state: str) -> "ClassReport":
        wanted = states_for(state)
        rows = [row for row in self.rows if not wanted or row.forecast in wanted]
        return ClassReport(self.school_class, self.categories, rows, self.today)

    def only(self, students) -> "ClassReport":
        """The rows of the given students (a filtered subset of the class)."""
        wanted = {student.pk for student in students}
        rows = [row for row in self.rows if row.student.pk in wanted]
        return ClassReport(self.school_class, self.categories, rows, self.today)

    def sort_key(self, key: str) -> Callable[[ClassReportRow], object] | None:
        """The key of a column's sort (`-` ignored): a fixed column's or a category's days."""
        name = key.lstrip("-")
        if name in SORT_KEYS:
            return SORT_KEYS[name]
        code = name.removeprefix("category_")
        if name != code and any(category.code == code for category in self.categories):
            return lambda row: row.categories[code].days
        return None

    def sorted(self, key: str) -> "ClassReport":
        """Rows ordered by a column name; a leading '-' reverses (ties stay in their order)."""
        attribute = self.sort_key(key)
        if attribute is None:
            return self
        rows = sorted(self.rows, key=attribute, reverse=key.startswith("-"))
        return ClassReport(self.school_class, self.categories, rows, self.today)


DEFAULT_SORT = "student_number"  # the order of `class_students`
SORT_KEYS: dict[str, Callable[[ClassReportRow], object]] = {
    "name": lambda row: row.name,
    "student_number": lambda row: row.student_number,
    "credit_hours": lambda row: row.progress.volunteer_minutes,
    "practice_days": lambda row: row.practice_days,
    "forecast": lambda row: (row.forecast_rank, row.progress.volunteer_minutes),
    "disputed": lambda row: row.disputed,
}


def class_students(school_class: SchoolClass) -> QuerySet[Student]:
    """The class as its report counts it: students marked as left are not in it."""
    return Student.objects.filter(school_class=school_class).counted().order_by("student_number")


def class_report(
    *, school_class: SchoolClass, students: QuerySet[Student] | None = None, today=None
) -> ClassReport:
    """Every student of the class (or of `students`, a filtered subset) with their progress."""
    today = today or timezone.localdate()
    students = list(class_students(school_class) if students is None else students)
    categories = list(Category.objects.order_by("sort_order", "code"))
    by_id = {category.pk: category.code for category in categories}
    progress = progress_for_entry_years(
        {student.pk: school_class.entry_year for student in students}, today=today
    )
    rows = [
        ClassReportRow(
            student=student,
            progress=progress[student.pk],
            categories={
                code: progress[student.pk].category(category_id)
                for category_id, code in by_id.items()
            },
            cells=[progress[student.pk].category(category.pk) for category in categories],
        )
        for student in students
    ]
    return ClassReport(school_class, categories, rows, today)


def class_report_header(report: ClassReport) -> list[str]:
    header = [
        _("Student number"),
        _("Name"),
        _("Credit hours"),
        _("Credit hours required"),
        _("Volunteer minutes"),
        _("Practice days"),
        _("Practice days required"),
    ]
    for category in report.categories:
        header += [
            _("%(category)s: minutes") % {"category": category.name},
            _("%(category)s: days") % {"category": category.name},
        ]
    return [*header, _("Disputed records"), _("Revoked records"), _("State")]


def class_report_rows(report: ClassReport) -> Iterator[list]:
    for row in report.rows:
        p = row.progress
        values = [
            row.student_number,
            row.name,
            p.credit_hours,
            p.hours_required,
            p.volunteer_minutes,
            p.practice_days,
            p.days_required,
        ]
        for tally in row.cells:
            values += [tally.minutes, tally.days]
        yield [*values, p.disputed.records, p.revoked.records, p.forecast_label]


def class_report_xlsx(report: ClassReport) -> bytes:
    title = f"{report.school_class.school.name} {report.school_class.name}"
    return write_xlsx(class_report_rows(report), class_report_header(report), title)


def render_class_report_pdf(report: ClassReport) -> bytes:
    """The class report as an A4 landscape PDF, Chinese set in Noto Sans CJK SC."""
    html = render_to_string(
        "students/class_report_pdf.html", {"report": report, "counts": report.counts()}
    )
    return html_to_pdf(html)
