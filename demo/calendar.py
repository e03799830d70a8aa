"""The demo's calendar: Shanghai time, session slots, days without school, planned sessions."""

import random
from dataclasses import dataclass, field
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from bases.models import Application, Session

SHANGHAI = ZoneInfo("Asia/Shanghai")
SLOTS = ((time(9, 0), time(12, 0)), (time(13, 30), time(16, 30)))


def at(day: date, moment: time) -> datetime:
    return datetime.combine(day, moment, tzinfo=SHANGHAI)


@dataclass
class Planned:
    """A session about to be created, with the applications it will get."""

    session: Session
    day: date
    # closed: attendance recorded; held: started, attendance not yet recorded;
    # future: applications taken; unopened: its application window is still ahead.
    phase: str
    applications: list[Application] = field(default_factory=list)


def is_day_off(day: date) -> bool:
    """A weekend or a school holiday (summer, winter, National Day and May Day weeks)."""
    month_day = (day.month, day.day)
    holidays = ((1, 20), (2, 15)), ((5, 1), (5, 5)), ((7, 1), (8, 31)), ((10, 1), (10, 7))
    return day.weekday() >= 5 or any(first <= month_day <= last for first, last in holidays)


def pick_slots(rng: random.Random, days: list[date], count: int) -> set[tuple[date, tuple]]:
    """`count` distinct (day, slot) pairs on days without school."""
    days = [day for day in days if is_day_off(day)]
    chosen: set[tuple[date, tuple]] = set()
    while len(chosen) < min(count, 2 * len(days)):
        chosen.add((rng.choice(days), rng.choice(SLOTS)))
    return chosen
