"""Reading a sheet row's cells into values, each unreadable cell reported by column."""

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from openpyxl.utils.datetime import from_excel

from portal.messages import message_of
from portal.resources import EMPTY_CELL, clean_whole_number, is_number_cell
from students.identifiers import is_student_number

from ..messages import (
    SHEET_NOT_STUDENT_NUMBER,
    SHEET_NOT_TIME,
    SHEET_NOTE_TOO_LONG,
    SHEET_NUMBER_CELL,
)
from .limits import MAX_NOTE_LENGTH
from .reading import SHEET_TIME_ZONE, TIME_FORMATS, SheetRow


def cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return str(value).strip()[:100]


def parse_time(value: Any) -> datetime:
    """A Shanghai wall-clock date-time from a cell; ValueError with a reason otherwise."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, int | float) and not isinstance(value, bool) and 1 < value < 100_000:
        # A date cell that lost its format shows as Excel's serial number.
        moment = from_excel(value)
    else:
        text = "" if value is None else str(value).strip().replace("：", ":")
        if not text:
            raise ValueError(EMPTY_CELL())
        text = re.sub(r"\s+", " ", text)
        for pattern in TIME_FORMATS:
            try:
                moment = datetime.strptime(text, pattern)
                break
            except ValueError:
                continue
        else:
            raise ValueError(SHEET_NOT_TIME(value=text[:40]))
    if moment.tzinfo is not None:
        return moment.astimezone(SHEET_TIME_ZONE).replace(microsecond=0)
    return moment.replace(tzinfo=SHEET_TIME_ZONE, microsecond=0)


@dataclass
class Parsed:
    row: SheetRow
    student_number: str | None = None
    session_id: int | None = None
    check_in: datetime | None = None
    check_out: datetime | None = None
    note: str = ""


def row_parse(row: SheetRow, error: Callable[..., None]) -> Parsed:
    """A row's cells as values; each unreadable cell is reported through `error`."""
    parsed = Parsed(row=row)
    cells, n = row.cells, row.number
    number = cells.get("student_number")
    if is_number_cell(number):
        error(
            n,
            "student_number",
            "number_cell",
            SHEET_NUMBER_CELL(value=str(number)),
            number,
        )
    elif number is None or not str(number).strip():
        error(n, "student_number", "empty", EMPTY_CELL())
    elif not is_student_number(str(number).strip()):
        error(
            n,
            "student_number",
            "invalid",
            SHEET_NOT_STUDENT_NUMBER(value=cell_text(number)),
            number,
        )
    else:
        parsed.student_number = str(number).strip()
    session_id = cells.get("session_id")
    try:
        parsed.session_id = clean_whole_number(session_id)
    except ValueError as problem:
        error(n, "session_id", "invalid", message_of(problem), session_id)
    for column in ("check_in", "check_out"):
        try:
            setattr(parsed, column, parse_time(cells.get(column)))
        except ValueError as problem:
            error(n, column, "invalid_time", message_of(problem), cells.get(column))
    note = "" if cells.get("note") is None else str(cells.get("note")).strip()
    if len(note) > MAX_NOTE_LENGTH:
        error(
            n,
            "note",
            "too_long",
            SHEET_NOTE_TOO_LONG(max=MAX_NOTE_LENGTH),
        )
    parsed.note = note
    return parsed
