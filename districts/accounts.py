"""Admins' accounts from a sheet: a district admin brings in the district's school admins, the
city admin the districts' admins. The same pattern as a school's roster (`students.roster`):
the portal's guarded reader, a preview naming each bad row and field, nothing written until
confirmed, the same sheet twice changes nothing. Each new login has no usable password: it
opens with a one-time code printed on a login slip (`students.login_slips`).

The sheet and its checks are here; what a place is (a school, a district) and how an admin is
attached to it come from the caller as an `AccountScope`, so the school admins' scope is built
in `students.staff_accounts` (a floor up) and the district admins' one here.
"""

import hashlib
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from portal.messages import Message, MessageKind
from portal.models import Role, User
from portal.resources import EMPTY_CELL
from portal.services import audit_log_record
from portal.sheet_problems import RowError, file_problem, missing_columns_problem, problems_json
from portal.spreadsheets import Sheet, write_workbook
from portal.uploads import CSV, DEFAULT_LIMITS, XLSX, ZIP_MAGIC, read_rows

from .messages import (
    ACCOUNTS_BAD_EMAIL,
    ACCOUNTS_BAD_USERNAME,
    ACCOUNTS_CHANGED,
    ACCOUNTS_DUPLICATE,
    ACCOUNTS_ELSEWHERE,
    ACCOUNTS_NAME_EMPTY,
    ACCOUNTS_NAME_TOO_LONG,
    ACCOUNTS_NO_ROWS,
    ACCOUNTS_UNKNOWN_DISTRICT,
    ACCOUNTS_USERNAME_TAKEN,
)
from .models import (
    AccountImport,
    AccountImportKind,
    AccountImportStatus,
    District,
    DistrictAdmin,
)

MAX_UPLOAD_BYTES = DEFAULT_LIMITS.max_bytes
MAX_ERRORS_STORED = 1_000
MAX_NAME = 64
USERNAME_REGEX = r"\A[A-Za-z0-9_.@+-]{3,150}\Z"
COLUMNS = ("code", "username", "name", "email")
REQUIRED_COLUMNS = ("code", "username", "name")
HEADER_ALIASES = {
    "学校代码": "code",
    "区代码": "code",
    "代码": "code",
    "school_code": "code",
    "district_code": "code",
    "用户名": "username",
    "登录名": "username",
    "姓名": "name",
    "邮箱": "email",
    "电子邮箱": "email",
}


# ------------------------------------------------------------------------------
# Where admins are attached
# ------------------------------------------------------------------------------
@dataclass(frozen=True)
class AccountScope:
    """What a sheet brings in and where: the kind and role of its admins, the places it may
    name by code, who already administers which place, and how an admin is attached."""

    kind: str
    role: str
    district: District | None  # the district of a school admins' sheet
    places: dict[str, Any]  # code -> school or district
    place_label: Callable[[Any], str]
    holders: dict[str, str]  # username -> the code of the place they administer
    unknown_place: MessageKind
    attach: Callable[[list[tuple[User, Any]]], None]


def district_admins_scope() -> AccountScope:
    """The city admin's sheet of the districts' admins."""
    districts = {d.code: d for d in District.objects.order_by("sort_order", "code")}
    holders = dict(DistrictAdmin.objects.values_list("user__username", "district__code"))

    def attach(pairs: list[tuple[User, District]]) -> None:
        DistrictAdmin.objects.bulk_create(DistrictAdmin(user=u, district=d) for u, d in pairs)

    return AccountScope(
        kind=AccountImportKind.DISTRICT_ADMINS,
        role=Role.DISTRICT_ADMIN,
        district=None,
        places=districts,
        place_label=lambda district: district.name,
        holders=holders,
        unknown_place=ACCOUNTS_UNKNOWN_DISTRICT,
        attach=attach,
    )


# ------------------------------------------------------------------------------
# Reading and checking
# ------------------------------------------------------------------------------
@dataclass
class AccountRow:
    number: int
    code: str = ""
    username: str = ""
    name: str = ""
    email: str = ""
    errors: list[RowError] = field(default_factory=list)


@dataclass
class AccountPlan:
    new: list[AccountRow] = field(default_factory=list)
    changed: list[tuple[AccountRow, User]] = field(default_factory=list)
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def summary(self) -> dict[str, int]:
        return {"new": len(self.new), "changed": len(self.changed), "unchanged": self.unchanged}


def _header_key(value: Any) -> str:
    text = "" if value is None else str(value).strip().lstrip("\ufeff").strip().lower()
    text = re.sub(r"[\s\-]+", "_", text)
    text = re.sub(r"[(（].*$", "", text).strip("_")
    return HEADER_ALIASES.get(text, text)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _row(number: int, cells: dict[str, Any]) -> AccountRow:
    row = AccountRow(number=number)

    def bad(column: str, code: str, message: Message) -> None:
        row.errors.append(RowError(number, column, code, message, _text(cells.get(column))[:80]))

    row.code = _text(cells.get("code"))
    if not row.code:
        bad("code", "empty", EMPTY_CELL())
    row.username = _text(cells.get("username"))
    if not re.fullmatch(USERNAME_REGEX, row.username):
        bad("username", "bad_username", ACCOUNTS_BAD_USERNAME())
    row.name = _text(cells.get("name"))
    if not row.name:
        bad("name", "empty", ACCOUNTS_NAME_EMPTY())
    elif len(row.name) > MAX_NAME:
        bad("name", "too_long", ACCOUNTS_NAME_TOO_LONG(max=MAX_NAME))
    row.email = _text(cells.get("email")).lower()
    if row.email:
        try:
            validate_email(row.email)
        except ValidationError:
            bad("email", "bad_email", ACCOUNTS_BAD_EMAIL())
    return row


def account_rows_read(content: bytes) -> tuple[list[AccountRow], list[str]]:
    """Every data row, checked cell by cell, and the required columns missing; UploadRefused
    for an unsafe file (the portal's one reader)."""
    found = read_rows(content, limits=DEFAULT_LIMITS)
    keys = [_header_key(v) for v in found.header]
    missing = [c for c in REQUIRED_COLUMNS if c not in keys]
    positions = {key: index for index, key in reversed(list(enumerate(keys))) if key in COLUMNS}
    rows = [
        _row(number, {k: values[i] if i < len(values) else None for k, i in positions.items()})
        for number, values in found.rows
    ]
    return rows, missing


def account_plan(*, rows: list[AccountRow], scope: AccountScope) -> AccountPlan:
    """Each row's problems, or the accounts the sheet creates and changes: two queries."""
    plan = AccountPlan()
    for row in rows:
        plan.errors.extend(row.errors)
    good = [row for row in rows if not row.errors]
    users = {u.username: u for u in User.objects.filter(username__in=[r.username for r in good])}
    seen: dict[str, int] = {}
    for row in good:
        first = seen.setdefault(row.username, row.number)
        if first != row.number:
            plan.errors.append(
                RowError(row.number, "username", "duplicate", ACCOUNTS_DUPLICATE(row=first),
                         row.username)
            )  # fmt: skip
            continue
        if row.code not in scope.places:
            plan.errors.append(
                RowError(row.number, "code", "unknown_place", scope.unknown_place(value=row.code),
                         row.code)
            )  # fmt: skip
            continue
        user = users.get(row.username)
        if user is None:
            plan.new.append(row)
            continue
        held = scope.holders.get(row.username)
        if user.role != scope.role or held is None:
            plan.errors.append(
                RowError(row.number, "username", "username_taken", ACCOUNTS_USERNAME_TAKEN(),
                         row.username)
            )  # fmt: skip
        elif held != row.code:
            place = scope.places.get(held)
            where = scope.place_label(place) if place is not None else held
            plan.errors.append(
                RowError(row.number, "code", "elsewhere", ACCOUNTS_ELSEWHERE(value=where),
                         row.code)
            )  # fmt: skip
        elif user.full_name != row.name or (row.email and user.email != row.email):
            plan.changed.append((row, user))
        else:
            plan.unchanged += 1
    plan.errors.sort(key=lambda e: (e.row or 0, COLUMNS.index(e.column)))
    return plan


def _check(content: bytes, scope: AccountScope) -> tuple[int, AccountPlan | None, list[dict]]:
    rows, missing = account_rows_read(content)
    if missing:
        return len(rows), None, missing_columns_problem(missing)
    if not rows:
        return 0, None, file_problem("no_rows", ACCOUNTS_NO_ROWS())
    plan = account_plan(rows=rows, scope=scope)
    return len(rows), plan, problems_json(plan.errors, keep=MAX_ERRORS_STORED)


# ------------------------------------------------------------------------------
# Services
# ------------------------------------------------------------------------------
def account_import_preview(
    *, scope: AccountScope, content: bytes, original_name: str, uploaded_by: User
) -> AccountImport:
    """Read and check a sheet (the dry run) and keep it for confirmation; nothing else is
    written. An unsafe file raises UploadRefused and nothing is kept. The caller has checked
    that `uploaded_by` may bring in the admins of `scope`."""
    digest = hashlib.sha256(content).hexdigest()
    row_count, plan, errors = _check(content, scope)
    account_import = AccountImport(
        kind=scope.kind,
        district=scope.district,
        original_name=(original_name or "")[:200],
        sha256=digest,
        status=AccountImportStatus.REFUSED if errors else AccountImportStatus.PREVIEWED,
        row_count=row_count,
        summary=plan.summary if plan and not errors else {},
        errors=errors,
        uploaded_by=uploaded_by,
    )
    extension = XLSX if content.startswith(ZIP_MAGIC) else CSV
    account_import.file.save(f"{uuid.uuid4().hex}.{extension}", ContentFile(content), save=False)
    with transaction.atomic():
        account_import.save()
        audit_log_record(
            actor=uploaded_by,
            action="account_import.preview",
            target=account_import,
            data={"kind": scope.kind, "status": account_import.status, "rows": row_count,
                  "errors": len(errors), "sha256": digest, **account_import.summary},
        )  # fmt: skip
    return account_import


def _refuse(account_import: AccountImport, user: User, errors: list[dict]) -> AccountImport:
    with transaction.atomic():
        account_import.status = AccountImportStatus.REFUSED
        account_import.errors = errors
        account_import.summary = {}
        account_import.save(update_fields=["status", "errors", "summary"])
        audit_log_record(
            actor=user, action="account_import.refuse", target=account_import,
            data={"errors": len(errors)},
        )  # fmt: skip
    return account_import


def account_import_confirm(
    *, account_import: AccountImport, scope: AccountScope, confirmed_by: User
) -> AccountImport:
    """Create and change the sheet's accounts: all or nothing; confirming twice does nothing.
    The stored file is checked again first (someone may have taken a username since)."""
    if account_import.status != AccountImportStatus.PREVIEWED:
        return account_import
    with account_import.file.open("rb") as stored:
        content = stored.read(MAX_UPLOAD_BYTES + 1)
    if hashlib.sha256(content).hexdigest() != account_import.sha256:
        return _refuse(account_import, confirmed_by, file_problem("changed", ACCOUNTS_CHANGED()))
    _rows, plan, errors = _check(content, scope)
    if errors or plan is None:
        return _refuse(account_import, confirmed_by, errors)
    with transaction.atomic():
        locked = AccountImport.objects.select_for_update().get(pk=account_import.pk)
        if locked.status != AccountImportStatus.PREVIEWED:
            return locked
        _apply(plan, scope)
        locked.status = AccountImportStatus.IMPORTED
        locked.imported_at = timezone.now()
        locked.summary = plan.summary
        locked.save(update_fields=["status", "imported_at", "summary"])
        audit_log_record(
            actor=confirmed_by,
            action="account_import.confirm",
            target=locked,
            data={"kind": scope.kind, "sha256": locked.sha256, **plan.summary},
        )
    return locked


def _apply(plan: AccountPlan, scope: AccountScope) -> None:
    # No usable password: the login opens with a one-time code from a printed slip.
    User.objects.bulk_create(
        User(username=row.username, full_name=row.name, email=row.email, role=scope.role,
             password=make_password(None))
        for row in plan.new
    )  # fmt: skip
    created = {
        u.username: u for u in User.objects.filter(username__in=[r.username for r in plan.new])
    }
    scope.attach([(created[row.username], scope.places[row.code]) for row in plan.new])
    for row, user in plan.changed:
        user.full_name = row.name
        user.email = row.email or user.email
    User.objects.bulk_update([user for _, user in plan.changed], ["full_name", "email"])


def account_template_xlsx(*, scope: AccountScope) -> bytes:
    """The sheet to fill in: its columns, and the places it may name with their codes."""
    places = [[code, scope.place_label(place)] for code, place in scope.places.items()]
    return write_workbook(
        [
            Sheet("admins", ["code", "username", "name", "email"], []),
            Sheet("places", ["code", "name"], places),
        ]
    )
