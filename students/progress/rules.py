"""The pure rules of progress: school years, the requirement window, forecasts, 学时.

No database here: every function takes the figures and the policy it needs.
"""

import math
from datetime import date
from decimal import ROUND_DOWN, Decimal
from fractions import Fraction
from functools import lru_cache

from django.db import models
from django.utils.translation import gettext_lazy as _

from ..models import RecordStatus, RequirementPolicy

COUNTED = (RecordStatus.IN_NOTICE, RecordStatus.FINAL)
SCHOOL_YEAR_START_MONTH = 9
# Graduation is in June of the third school year: the requirement must be met by 1 July.
DEADLINE_MONTH = 7
# Practice comes in bursts (holidays, a 学农 week), so a student may lag the steady pace by
# this share of the three years (about three months) and still be on track.
SLACK = Fraction(1, 12)
# The fastest pace a student can plausibly keep for the rest: twice the steady pace.
PLAUSIBLE_PACE = 2


class Forecast(models.TextChoices):
    DONE = "done", _("Done")
    ON_TRACK = "on_track", _("On track")
    AT_RISK = "at_risk", _("At risk")
    BEHIND = "behind", _("Behind")


FORECAST_RANK = {Forecast.DONE: 0, Forecast.ON_TRACK: 1, Forecast.AT_RISK: 2, Forecast.BEHIND: 3}


def school_year_of(day: date) -> int:
    """The calendar year a school year starts in: 2025 for 2025-09-01 .. 2026-08-31."""
    return day.year if day.month >= SCHOOL_YEAR_START_MONTH else day.year - 1


def school_year_for(day: date, entry_year: int) -> int:
    """The school year a student's record of `day` belongs to: its own, except that a record
    dated before the student's first school year (新生军训 at the end of August) counts in it."""
    return max(school_year_of(day), entry_year)


def school_year_label(year: int) -> str:
    return f"{year}-{year + 1}"


def requirement_window(entry_year: int) -> tuple[date, date]:
    """[1 September of the entry year, 1 July of the graduation year): the three school years."""
    return date(entry_year, SCHOOL_YEAR_START_MONTH, 1), date(entry_year + 3, DEADLINE_MONTH, 1)


def elapsed_share(entry_year: int, today: date) -> Fraction:
    """How much of the three school years has passed on `today`, from 0 to 1."""
    start, end = requirement_window(entry_year)
    share = Fraction((today - start).days, (end - start).days)
    return min(max(share, Fraction(0)), Fraction(1))


def measure_forecast(*, done: int, required: int, entry_year: int, today: date) -> str:
    """The forecast for one measure (minutes or days) against what it requires.

    - done: `done >= required`.
    - behind: not done and the deadline (1 July of the graduation year) has come.
    - on_track: the share done is at least the share of time elapsed, less SLACK
      (`done / required >= elapsed - 1/12`): at the pace so far the student finishes in time.
    - at_risk: below that, but what remains can still be done at no more than PLAUSIBLE_PACE
      times the steady pace over the time left (`1 - done/required <= 2 * (1 - elapsed)`).
    - behind: further below than that.

    The two fractions are turned once per (required, entry year, day) into the least whole
    amount done that reaches them (`measure_thresholds`), so a report over 200,000 students
    compares integers (`stored` compares them in SQL); `done` is a whole number of minutes or
    days.
    """
    if done >= required:
        return Forecast.DONE
    deadline_passed, on_track_from, at_risk_from = measure_thresholds(required, entry_year, today)
    if deadline_passed:
        return Forecast.BEHIND
    if done >= on_track_from:
        return Forecast.ON_TRACK
    if done >= at_risk_from:
        return Forecast.AT_RISK
    return Forecast.BEHIND


@lru_cache(maxsize=4096)
def measure_thresholds(required: int, entry_year: int, today: date) -> tuple[bool, int, int]:
    """(deadline passed, least whole `done` on track, least whole `done` at risk).

    `done / required >= elapsed - SLACK` holds for a whole `done` exactly when
    `done >= ceil(required * (elapsed - SLACK))`; `1 - done / required <= PLAUSIBLE_PACE *
    (1 - elapsed)` exactly when `done >= ceil(required * (1 - PLAUSIBLE_PACE * (1 - elapsed)))`.
    """
    elapsed = elapsed_share(entry_year, today)
    return (
        today >= requirement_window(entry_year)[1],
        math.ceil(required * (elapsed - SLACK)),
        math.ceil(required * (1 - PLAUSIBLE_PACE * (1 - elapsed))),
    )


def combined_forecast(*forecasts: str) -> str:
    """The student's forecast is the worse of the two measures'."""
    return max(forecasts, key=lambda value: FORECAST_RANK[value])


def credit_hours(minutes: int, minutes_per_credit_hour: int) -> Decimal:
    hours = Decimal(minutes) / Decimal(minutes_per_credit_hour)
    return hours.quantize(Decimal("0.1"), rounding=ROUND_DOWN)


def credit_hours_parts(minutes: list[int], minutes_per_credit_hour: int) -> list[Decimal]:
    """学时 of consecutive parts (months, school years) that add up to the total's 学时.

    Each part is rounded on the running total (`credit_hours(up to it) - credit_hours(before
    it)`), so the parts sum to `credit_hours(sum(minutes))`: four months of 30 minutes show
    0.7, 0.8, 0.7, 0.8 (3.0 in all), not 0.7 four times (2.8) under a total of 3.0.
    """
    parts, running, shown = [], 0, Decimal("0.0")
    for part in minutes:
        running += part
        up_to = credit_hours(running, minutes_per_credit_hour)
        parts.append(up_to - shown)
        shown = up_to
    return parts


def forecasts(
    *,
    policy: RequirementPolicy,
    entry_year: int,
    today: date,
    volunteer_minutes: int,
    practice_days: int,
) -> tuple[str, str]:
    """(hours forecast, days forecast) of a student's two measures under `policy`."""
    minutes_required = policy.volunteer_hours_required * policy.minutes_per_credit_hour
    return (
        measure_forecast(
            done=volunteer_minutes, required=minutes_required, entry_year=entry_year, today=today
        ),
        measure_forecast(
            done=practice_days,
            required=policy.practice_days_required,
            entry_year=entry_year,
            today=today,
        ),
    )
