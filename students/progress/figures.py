"""What progress reports: tallies, and a student's measures with or without breakdowns."""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from .rules import Forecast, combined_forecast, credit_hours, elapsed_share, requirement_window


@dataclass(frozen=True)
class Tally:
    """Records, credited minutes (all and volunteer only) and distinct practice days."""

    records: int = 0
    minutes: int = 0
    volunteer_minutes: int = 0
    days: int = 0


@dataclass
class TallyBuilder:
    """A Tally being added up; dates kept as a set so a date touched twice counts once."""

    records: int = 0
    minutes: int = 0
    volunteer_minutes: int = 0
    dates: set[date] = field(default_factory=set)

    def add(self, *, records: int, minutes: int, volunteer: bool, dates: Iterable[date]) -> None:
        self.records += records
        self.minutes += minutes
        self.volunteer_minutes += minutes if volunteer else 0
        self.dates.update(dates)

    def tally(self) -> Tally:
        return Tally(self.records, self.minutes, self.volunteer_minutes, len(self.dates))


@dataclass(frozen=True)
class _Measures:
    """A student's two measures and forecasts, shared by StudentProgress and StudentTotals."""

    student_id: int
    entry_year: int
    today: date
    hours_required: int
    days_required: int
    minutes_per_credit_hour: int
    volunteer_minutes: int
    practice_days: int
    records: int
    hours_forecast: str
    days_forecast: str

    @property
    def forecast(self) -> str:
        return combined_forecast(self.hours_forecast, self.days_forecast)

    @property
    def forecast_label(self) -> str:
        return Forecast(self.forecast).label

    @property
    def minutes_required(self) -> int:
        return self.hours_required * self.minutes_per_credit_hour

    @property
    def credit_hours(self) -> Decimal:
        """学时 credited, rounded down to one decimal so 59.98 never shows as 60."""
        return credit_hours(self.volunteer_minutes, self.minutes_per_credit_hour)

    @property
    def hours_done(self) -> bool:
        return self.volunteer_minutes >= self.minutes_required

    @property
    def days_done(self) -> bool:
        return self.practice_days >= self.days_required


@dataclass(frozen=True)
class StudentProgress(_Measures):
    """One student's progress against the policy in force for their entry year."""

    by_category: dict[int, Tally]
    by_school_year: dict[int, Tally]
    by_month: dict[tuple[int, int], Tally]
    disputed: Tally
    revoked: Tally

    @property
    def hours_percent(self) -> int:
        return min(100, self.volunteer_minutes * 100 // self.minutes_required)

    @property
    def days_percent(self) -> int:
        return min(100, self.practice_days * 100 // self.days_required)

    @property
    def elapsed_percent(self) -> int:
        return int(elapsed_share(self.entry_year, self.today) * 100)

    @property
    def deadline(self) -> date:
        return requirement_window(self.entry_year)[1] - timedelta(days=1)

    def category(self, category_id: int) -> Tally:
        return self.by_category.get(category_id, Tally())


@dataclass(frozen=True)
class StudentTotals(_Measures):
    """A student's two measures and forecast, without breakdowns or held-apart tallies.

    The same figures as StudentProgress's `volunteer_minutes`, `practice_days`, `records` and
    forecast (the same rules: `rules.forecasts`, `models.dates_spanned`), computed mostly in the
    database.
    """
