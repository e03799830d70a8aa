"""Geometry for small server-rendered SVG charts (no JavaScript, no CDN).

The templates `students/_hbar_chart.html` and `students/_column_chart.html` draw what these
functions compute. Horizontal positions are percentages of the chart's width and vertical ones
pixels, so a chart fills its container on a 360-px phone or a desktop while its text keeps the
same size (a viewBox would scale the text with the width).
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from django.utils.translation import gettext as _

from .progress import Forecast, Tally, credit_hours_parts

WIDTH = 100  # per cent
ROW_HEIGHT = 40
BAR_HEIGHT = 14
LABEL_HEIGHT = 18


@dataclass(frozen=True)
class Segment:
    value: int | float
    css: str
    title: str


@dataclass
class Bar:
    label: str
    segments: Sequence[Segment]
    note: str = ""
    url: str = ""
    y: float = 0
    shapes: list[dict] = field(default_factory=list)


def hbar_chart(bars: list[Bar], *, stacked: bool = True, scale: float | None = None) -> dict:
    """Horizontal bars, each labelled above; segments stacked end to end or overlaid from 0.

    Stacked bars are drawn to `scale` (default: the largest total); overlaid segments (e.g.
    seats offered, taken, attended) are drawn from zero, largest first, to the largest value.
    """
    totals = [sum(s.value for s in bar.segments) if stacked else _largest(bar) for bar in bars]
    scale = scale or max(totals, default=0) or 1
    for index, bar in enumerate(bars):
        bar.y = index * ROW_HEIGHT
        bar.shapes = []
        x = 0.0
        ordered = bar.segments if stacked else sorted(bar.segments, key=lambda s: -s.value)
        for segment in ordered:
            width = WIDTH * segment.value / scale
            bar.shapes.append(
                {
                    "x": round(x if stacked else 0, 2),
                    "y": bar.y + LABEL_HEIGHT + 2,
                    "width": round(width, 2),
                    "height": BAR_HEIGHT,
                    "css": segment.css,
                    "title": segment.title,
                }
            )
            if stacked:
                x += width
    return {
        "width": WIDTH,
        "height": max(len(bars), 1) * ROW_HEIGHT,
        "bars": bars,
        "bar_height": BAR_HEIGHT,
        "label_height": LABEL_HEIGHT,
    }


def _largest(bar: Bar) -> float:
    return max((s.value for s in bar.segments), default=0)


def column_chart(points: list[tuple[str, float, str]], *, height: int = 120) -> dict:
    """Vertical columns, one per (label, value, value text), with the value written on top."""
    count = max(len(points), 1)
    slot = WIDTH / count
    top = max((value for _, value, _ in points), default=0) or 1
    plot = height - 32
    columns = []
    for index, (label, value, text) in enumerate(points):
        bar_height = plot * value / top
        columns.append(
            {
                "label": label,
                "text": text,
                "value": value,
                "x": round(index * slot + slot * 0.15, 2),
                "width": round(slot * 0.7, 2),
                "y": round(16 + plot - bar_height, 2),
                "height": round(bar_height, 2),
                "center": round(index * slot + slot / 2, 2),
                "text_y": round(12 + plot - bar_height, 2),
            }
        )
    return {"width": WIDTH, "height": height, "columns": columns, "axis_y": 16 + plot}


FORECAST_CSS = {
    "done": "seg-done",
    "on_track": "seg-on",
    "at_risk": "seg-risk",
    "behind": "seg-behind",
}


def completion_chart(groups) -> dict:
    """Each group's students as shares done, on track, at risk and behind (stacked to 100 %)."""
    bars = []
    for group in groups:
        total = group.students or 1
        segments = [
            Segment(
                100 * group.counts[state] / total,
                FORECAST_CSS[state],
                f"{label}: {group.counts[state]}",
            )
            for state, label in Forecast.choices
        ]
        note = _("%(percent)s%% done") % {"percent": group.done_percent}
        bars.append(Bar(label=str(group.label), segments=segments, note=note, url=group.url))
    return hbar_chart(bars, scale=100)


def forecast_legend() -> list[tuple[str, str]]:
    return [(FORECAST_CSS[state], label) for state, label in Forecast.choices]


def last_months(until: date, count: int = 12) -> list[tuple[int, int]]:
    """(year, month) of the `count` months ending with the month of `until`, oldest first."""
    index = until.year * 12 + until.month - 1
    return [divmod(i, 12) for i in range(index - count + 1, index + 1)]


def month_charts(progress, until: date) -> tuple[dict, dict]:
    """Two column charts of the twelve months up to `until`: practice days and 学时.

    Each month's 学时 is rounded on the running total from the student's first month
    (`credit_hours_parts`), so the months add up to the 学时 shown in all."""
    shown = [(year, month0 + 1) for year, month0 in last_months(until)]
    keys = sorted({*progress.by_month, *shown})
    parts = credit_hours_parts(
        [progress.by_month.get(key, Tally()).volunteer_minutes for key in keys],
        progress.minutes_per_credit_hour,
    )
    month_hours = dict(zip(keys, parts, strict=True))
    days, hours = [], []
    for key in shown:
        tally = progress.by_month.get(key, Tally())
        label = str(key[1])
        days.append((label, tally.days, str(tally.days)))
        value = month_hours[key]
        hours.append((label, float(value), f"{value.normalize():f}"))
    return column_chart(days), column_chart(hours)
