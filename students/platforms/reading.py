"""Reading another platform's export: the guarded reader, each platform's column names mapped to
the portal's fields (documented in docs/other-platforms.md), then the cells to values."""

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils import timezone

from portal.messages import Message
from portal.sheet_problems import RowError
from portal.uploads import DEFAULT_LIMITS, read_rows

from ..messages import (
    PLATFORM_BAD_DATE,
    PLATFORM_BAD_HOURS,
    PLATFORM_BAD_TIME,
    PLATFORM_ENDS_BEFORE_START,
    PLATFORM_HOURS_TOO_LONG,
    PLATFORM_IN_FUTURE,
    PLATFORM_NO_STUDENT,
    PLATFORM_NO_TIMES,
    PLATFORM_TOO_LONG,
    PLATFORM_VALUE_EMPTY,
)
from ..models import Platform

MAX_UPLOAD_BYTES = DEFAULT_LIMITS.max_bytes
#: The portal's fields; every platform's columns are mapped onto these.
FIELDS = (
    "record_id",
    "student_number",
    "volunteer_number",
    "name",
    "activity",
    "organiser",
    "date",
    "start",
    "end",
    "hours",
)
REQUIRED = ("record_id", "activity")
#: The generic template's columns, in the order written (English field names, Chinese accepted).
GENERIC_ALIASES = {
    "记录编号": "record_id",
    "学籍号": "student_number",
    "志愿者编号": "volunteer_number",
    "姓名": "name",
    "活动名称": "activity",
    "组织单位": "organiser",
    "日期": "date",
    "开始时间": "start",
    "结束时间": "end",
    "时长": "hours",
}
#: Each platform's export headers (as we expect their exports to name them; we had no real
#: file) -> the portal's field. Every platform also accepts the generic names (English and
#: Chinese). Matching ignores case, spaces, full-width forms, a bracketed unit and marks such as
#: "*" or ":" (`header_key`); docs/other-platforms.md lists them.
PLATFORM_COLUMNS: dict[str, dict[str, str]] = {
    Platform.SHVOL: {
        "记录ID": "record_id",
        "记录编号": "record_id",
        "时长记录编号": "record_id",
        "时长记录ID": "record_id",
        "志愿者编号": "volunteer_number",
        "志愿者号": "volunteer_number",
        "志愿者ID": "volunteer_number",
        "学籍号": "student_number",
        "学生学籍号": "student_number",
        "姓名": "name",
        "志愿者姓名": "name",
        "项目名称": "activity",
        "活动名称": "activity",
        "服务项目": "activity",
        "发布组织": "organiser",
        "组织名称": "organiser",
        "服务组织": "organiser",
        "服务日期": "date",
        "活动日期": "date",
        "开始时间": "start",
        "服务开始时间": "start",
        "结束时间": "end",
        "服务结束时间": "end",
        "服务时长": "hours",
        "志愿服务时长": "hours",
        "时长": "hours",
    },
    Platform.ZYH: {
        "流水号": "record_id",
        "记录ID": "record_id",
        "记录编号": "record_id",
        "志愿汇号": "volunteer_number",
        "志愿汇ID": "volunteer_number",
        "志愿者编号": "volunteer_number",
        "学籍号": "student_number",
        "姓名": "name",
        "真实姓名": "name",
        "活动名称": "activity",
        "项目名称": "activity",
        "主办方": "organiser",
        "组织名称": "organiser",
        "发起组织": "organiser",
        "活动日期": "date",
        "服务日期": "date",
        "签到时间": "start",
        "开始时间": "start",
        "签退时间": "end",
        "结束时间": "end",
        "志愿时长": "hours",
        "服务时长": "hours",
        "时长": "hours",
    },
    Platform.GENERIC: GENERIC_ALIASES,
}
#: When an export gives a date and hours but no times, the activity is taken to start here.
ASSUMED_START = time(9, 0)
MAX_TEXT = 200
MAX_ID = 64
MAX_HOURS = Decimal(24)


@dataclass
class PlatformRow:
    """One checked row: its values, or the errors of its bad fields."""

    number: int
    record_id: str = ""
    student_number: str = ""
    volunteer_number: str = ""
    name: str = ""
    activity: str = ""
    organiser: str = ""
    started_at: datetime | None = None
    ended_at: datetime | None = None
    minutes: int = 0
    start_assumed: bool = False
    errors: list[RowError] = field(default_factory=list)


@dataclass
class PlatformSheet:
    rows: list[PlatformRow]
    rows_read: int
    missing_columns: list[str]


def _normal(value: Any) -> str:
    """A header as compared: full-width forms folded (NFKC), lower case, a bracketed unit
    ("服务时长（小时）", "hours [h]") and marks ("*", ":", "：") dropped, no spaces, `_` or `-`."""
    text = unicodedata.normalize("NFKC", "" if value is None else str(value))
    text = text.replace("\ufeff", "").strip().lower()
    text = re.sub(r"[(\[【〔].*$", "", text)
    return re.sub(r"[\s_\-*:：.。、/]+", "", text)


_MATCHES: dict[str, dict[str, str]] = {
    platform: {
        **{_normal(name): name for name in FIELDS},
        **{_normal(header): name for header, name in GENERIC_ALIASES.items()},
        **{_normal(header): name for header, name in headers.items()},
    }
    for platform, headers in PLATFORM_COLUMNS.items()
}


def header_key(value: Any, platform: str) -> str:
    """The portal's field a header of `platform`'s export names, or "" (a column ignored)."""
    return _MATCHES[platform].get(_normal(value), "")


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


DATE_RE = re.compile(r"\A(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?")
TIME_RE = re.compile(r"(\d{1,2})\s*[:：时]\s*(\d{2})(?:\s*[:：分]\s*(\d{2}))?")


def _date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    match = DATE_RE.match(_text(value))
    if not match:
        return None
    try:
        return date(*(int(g) for g in match.groups()))
    except ValueError:
        return None


def _time(value: Any) -> tuple[date | None, time | None]:
    """(date if the cell carries one, time) of a start or end cell; (None, None) if unreadable."""
    if isinstance(value, datetime):
        return value.date(), value.time().replace(microsecond=0)
    if isinstance(value, time):
        return None, value
    text = _text(value)
    day = _date(text)
    rest = DATE_RE.sub("", text) if day else text
    match = TIME_RE.search(rest)
    if not match:
        return None, None
    hour, minute = int(match.group(1)), int(match.group(2))
    if hour > 24 or minute > 59 or (hour == 24 and minute):
        return None, None
    if hour == 24:
        return (day or None), time(0, 0)  # 24:00: midnight of the next day (see _interval)
    return day, time(hour, minute)


def _hours(value: Any) -> Decimal | None:
    text = _text(value).replace("小时", "").replace("h", "").strip()
    try:
        hours = Decimal(text)
    except InvalidOperation:
        return None
    return hours if hours.is_finite() else None


def _aware(day: date, at: time) -> datetime:
    return timezone.make_aware(datetime.combine(day, at))


def _row(number: int, cells: dict[str, Any], *, now: datetime) -> PlatformRow:
    row = PlatformRow(number=number)

    def bad(column: str, message: Message) -> None:
        code = message.kind.code.split(".", 1)[-1]
        row.errors.append(RowError(number, column, code, message, _text(cells.get(column))[:80]))

    for name, limit in (("record_id", MAX_ID), ("student_number", MAX_ID),
                        ("volunteer_number", MAX_ID), ("name", MAX_TEXT),
                        ("activity", MAX_TEXT), ("organiser", MAX_TEXT)):  # fmt: skip
        value = _text(cells.get(name))
        if len(value) > limit:
            bad(name, PLATFORM_TOO_LONG(max=limit))
        setattr(row, name, value[:limit])
    for name in ("record_id", "activity"):
        if not getattr(row, name):
            bad(name, PLATFORM_VALUE_EMPTY())
    if not row.student_number and not row.volunteer_number:
        bad("student_number", PLATFORM_NO_STUDENT())

    day = _date(cells.get("date"))
    start_day, start = _time(cells.get("start")) if _text(cells.get("start")) else (None, None)
    end_day, end = _time(cells.get("end")) if _text(cells.get("end")) else (None, None)
    day = day or start_day
    if day is None:
        bad("date", PLATFORM_BAD_DATE())
    for name, parsed in (("start", start), ("end", end)):
        if _text(cells.get(name)) and parsed is None:
            bad(name, PLATFORM_BAD_TIME())
    hours = None
    if _text(cells.get("hours")):
        hours = _hours(cells.get("hours"))
        if hours is None or not 0 < hours <= MAX_HOURS:
            bad("hours", PLATFORM_BAD_HOURS(max=MAX_HOURS))
            hours = None
    if row.errors or day is None:
        return row
    if start is not None and end is not None:
        row.started_at = _aware(start_day or day, start)
        row.ended_at = _aware(end_day or day, end)
        if row.ended_at <= row.started_at and end_day is None:
            row.ended_at += timedelta(days=1)  # 22:00-02:00 runs past midnight
        if row.ended_at <= row.started_at:
            bad("end", PLATFORM_ENDS_BEFORE_START())
            return row
        longest = int((row.ended_at - row.started_at).total_seconds() // 60)
        row.minutes = longest
        if hours is not None:
            row.minutes = int(hours * 60)
            if row.minutes > longest:
                bad("hours", PLATFORM_HOURS_TOO_LONG(minutes=longest))
                return row
    elif hours is not None:
        row.started_at = _aware(day, start or ASSUMED_START)
        row.start_assumed = start is None
        row.minutes = int(hours * 60)
        row.ended_at = row.started_at + timedelta(minutes=row.minutes)
    else:
        bad("hours", PLATFORM_NO_TIMES())
        return row
    if row.minutes <= 0:
        bad("hours", PLATFORM_BAD_HOURS(max=MAX_HOURS))
    elif row.ended_at > now:
        bad("date", PLATFORM_IN_FUTURE())
    return row


def read_platform_sheet(content: bytes, *, platform: str) -> PlatformSheet:
    """Every data row of the export, checked cell by cell; UploadRefused for an unsafe file."""
    found = read_rows(content, limits=DEFAULT_LIMITS)
    keys = [header_key(v, platform) for v in found.header]
    missing = [name for name in REQUIRED if name not in keys]
    if "student_number" not in keys and "volunteer_number" not in keys:
        missing.append("student_number / volunteer_number")
    if "date" not in keys and "start" not in keys:
        missing.append("date")
    if not ({"start", "end"} <= set(keys)) and "hours" not in keys:
        missing.append("start + end / hours")
    positions = {key: index for index, key in reversed(list(enumerate(keys))) if key}
    now = timezone.now()
    rows = [
        _row(
            number,
            {key: values[i] if i < len(values) else None for key, i in positions.items()},
            now=now,
        )
        for number, values in found.rows
    ]
    return PlatformSheet(rows=rows, rows_read=found.rows_read, missing_columns=missing)
