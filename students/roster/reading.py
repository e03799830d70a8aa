"""Reading a roster sheet: the portal's guarded reader, then the roster's own columns and cells."""

import re
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from portal.messages import Message, message_of
from portal.resources import clean_identifier, clean_whole_number
from portal.sheet_problems import RowError
from portal.uploads import DEFAULT_LIMITS, read_rows

from ..identifiers import STUDENT_NUMBER_REGEX
from ..messages import (
    ROSTER_BAD_EMAIL,
    ROSTER_BAD_GENDER,
    ROSTER_BAD_KIND,
    ROSTER_BAD_USERNAME,
    ROSTER_NAME_EMPTY,
    ROSTER_NAME_TOO_LONG,
    ROSTER_NOT_STUDENT_NUMBER,
    ROSTER_OUT_OF_RANGE,
    ROSTER_TOO_LONG,
)
from ..models import Gender

MAX_UPLOAD_BYTES = DEFAULT_LIMITS.max_bytes
SHEET_NAME = "roster"
COLUMNS = (
    "kind",
    "student_number",
    "username",
    "name",
    "entry_year",
    "class_number",
    "gender",
    "guardian_contact",
    "email",
)
REQUIRED_COLUMNS = ("kind", "name", "entry_year", "class_number")
HEADER_ALIASES = {
    "类型": "kind",
    "身份": "kind",
    "学籍号": "student_number",
    "登录名": "username",
    "用户名": "username",
    "工号": "username",
    "姓名": "name",
    "入学年份": "entry_year",
    "届": "entry_year",
    "班号": "class_number",
    "班级": "class_number",
    "性别": "gender",
    "监护人联系方式": "guardian_contact",
    "家长联系方式": "guardian_contact",
    "邮箱": "email",
    "电子邮箱": "email",
}
STUDENT, TEACHER = "student", "teacher"
KIND_VALUES = {
    "student": STUDENT,
    "学生": STUDENT,
    "teacher": TEACHER,
    "head_teacher": TEACHER,
    "班主任": TEACHER,
    "教师": TEACHER,
    "老师": TEACHER,
}
GENDER_VALUES = {
    "男": Gender.MALE,
    "male": Gender.MALE,
    "m": Gender.MALE,
    "女": Gender.FEMALE,
    "female": Gender.FEMALE,
    "f": Gender.FEMALE,
}
USERNAME_REGEX = r"\A[A-Za-z0-9_.@+-]{3,150}\Z"
MAX_NAME = 64
MAX_GUARDIAN = 64


@dataclass
class RosterRow:
    """One checked row: its values, or the errors of its bad fields."""

    number: int
    kind: str = ""
    student_number: str = ""
    username: str = ""
    name: str = ""
    entry_year: int = 0
    class_number: int = 0
    gender: str = ""
    guardian_contact: str = ""
    email: str = ""
    errors: list[RowError] = field(default_factory=list)

    @property
    def class_key(self) -> tuple[int, int]:
        return (self.entry_year, self.class_number)

    @property
    def login(self) -> str:
        return self.student_number if self.kind == STUDENT else self.username


@dataclass
class RosterSheet:
    rows: list[RosterRow]
    rows_read: int
    missing_columns: list[str]


def _header_key(value: Any) -> str:
    text = "" if value is None else str(value).strip().lstrip("\ufeff").strip().lower()
    text = re.sub(r"[\s\-]+", "_", text)
    text = re.sub(r"[(（].*$", "", text).strip("_")  # "学籍号（必填）" -> 学籍号
    return HEADER_ALIASES.get(text, text)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _row(number: int, cells: dict[str, Any]) -> RosterRow:
    row = RosterRow(number=number)

    def bad(column: str, code: str, message: Message | str) -> None:
        row.errors.append(RowError(number, column, code, message, _text(cells.get(column))[:80]))

    kind = KIND_VALUES.get(_text(cells.get("kind")).lower())
    if kind is None:
        bad("kind", "bad_kind", ROSTER_BAD_KIND())
    else:
        row.kind = kind
    row.name = _text(cells.get("name"))
    if not row.name:
        bad("name", "empty", ROSTER_NAME_EMPTY())
    elif len(row.name) > MAX_NAME:
        bad("name", "too_long", ROSTER_NAME_TOO_LONG(max=MAX_NAME))
    for column, low, high in (("entry_year", 2000, 2100), ("class_number", 1, 99)):
        try:
            value = clean_whole_number(cells.get(column))
        except ValueError as error:
            bad(column, "bad_number", message_of(error))
            continue
        if not low <= value <= high:
            bad(
                column,
                "out_of_range",
                ROSTER_OUT_OF_RANGE(value=value, low=low, high=high),
            )
            continue
        setattr(row, column, value)
    if kind == STUDENT:
        try:
            row.student_number = clean_identifier(
                cells.get("student_number"),
                pattern=STUDENT_NUMBER_REGEX,
                invalid=ROSTER_NOT_STUDENT_NUMBER,
            )
        except ValueError as error:
            bad("student_number", "bad_student_number", message_of(error))
    elif kind == TEACHER:
        row.username = _text(cells.get("username"))
        if not re.fullmatch(USERNAME_REGEX, row.username):
            bad(
                "username",
                "bad_username",
                ROSTER_BAD_USERNAME(),
            )
    gender = _text(cells.get("gender")).lower()
    if gender:
        if gender in GENDER_VALUES:
            row.gender = GENDER_VALUES[gender]
        else:
            bad("gender", "bad_gender", ROSTER_BAD_GENDER())
    row.guardian_contact = _text(cells.get("guardian_contact"))
    if len(row.guardian_contact) > MAX_GUARDIAN:
        bad(
            "guardian_contact",
            "too_long",
            ROSTER_TOO_LONG(max=MAX_GUARDIAN),
        )
    row.email = _text(cells.get("email")).lower()
    if row.email:
        try:
            validate_email(row.email)
        except ValidationError:
            bad("email", "bad_email", ROSTER_BAD_EMAIL())
    return row


def read_roster(content: bytes) -> RosterSheet:
    """Every data row of the file, checked cell by cell; UploadRefused for an unsafe file."""
    found = read_rows(content, limits=DEFAULT_LIMITS, sheet=SHEET_NAME)
    keys = [_header_key(v) for v in found.header]
    missing = [c for c in REQUIRED_COLUMNS if c not in keys]
    positions = {key: index for index, key in reversed(list(enumerate(keys))) if key in COLUMNS}
    rows = [
        _row(
            number,
            {
                key: values[index] if index < len(values) else None
                for key, index in positions.items()
            },
        )
        for number, values in found.rows
    ]
    return RosterSheet(rows=rows, rows_read=found.rows_read, missing_columns=missing)
