"""A checked sheet's problems, by row and column, kept with its upload (`SheetUpload.errors`).

Each problem's message is kept as a code and parameters (`portal.messages`), so whoever opens the
upload later reads it in their own language. Problems kept by an older version as finished text
(`message`) are shown as they are.
"""

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from .messages import Message, message_kind, message_text

MISSING_COLUMNS = message_kind(
    "sheet.missing_columns", _("The first row must name the columns; missing: %(columns)s.")
)
MORE_PROBLEMS = message_kind(
    "sheet.more_problems",
    ngettext_lazy("… and %(count)s more problem.", "… and %(count)s more problems.", "count"),
)


@dataclass
class RowError:
    """One problem: the row as the spreadsheet numbers it (None for the whole file), its column,
    a machine-readable code, the message and the cell's value."""

    row: int | None
    column: str
    code: str
    message: Message | str  # text only where a message comes from a service's refusal
    value: str = ""

    def as_json(self) -> dict:
        stored = {"row": self.row, "column": self.column, "code": self.code, "value": self.value}
        if isinstance(self.message, Message):
            return {**stored, **self.message.as_json()}
        return {**stored, "message": str(self.message)}


def file_problem(code: str, message: Message | str) -> list[dict]:
    """The stored problems of a file refused as a whole."""
    return [RowError(None, "", code, message).as_json()]


def missing_columns_problem(columns: list[str]) -> list[dict]:
    return file_problem("missing_columns", MISSING_COLUMNS(columns=", ".join(columns)))


def problems_json(errors: list[RowError], *, keep: int) -> list[dict]:
    """The first `keep` problems as stored, and a last line saying how many more there are."""
    stored = [error.as_json() for error in errors[:keep]]
    if len(errors) > keep:
        more = MORE_PROBLEMS(count=len(errors) - keep)
        stored.append(RowError(None, "", "more_errors", more).as_json())
    return stored


def problems_for_reader(problems: list[dict]) -> list[dict]:
    """Stored problems with each message in the active language (`message`)."""
    return [{**problem, "message": message_text(problem)} for problem in problems]
