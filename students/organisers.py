"""Who organised a ledger record, and so answers disputes about it.

A record stores its organiser in `organiser_ref`, "<kind>:<id>" ("base:17", "school:3"), set
from `RecordFacts.organiser_ref` by the app that writes it. Each kind is registered once at
start-up (the owning app's `ready()`), so the ledger finds a record's organiser from that
indexed field and never imports the apps that organise:

- `scope(*, user) -> QuerySet | None`: the organisers of this kind the user answers for (rows
  whose primary key is the id in "<kind>:<id>"), or None when the user answers for none; read as
  a subquery, so a scope costs no query of its own;
- `answerers(*, organiser_id) -> list[User]`: who answers for one organiser of this kind.

The school itself is the organiser of records its admins enter (kind "school", registered by
this app).
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import CharField, Q, QuerySet, Value
from django.db.models.functions import Cast, Concat

from portal.models import Role, User

from .models import PracticeRecord, School, TeacherAssignment, TeacherRole
from .selectors import NOTHING

SCHOOL = "school"
SEPARATOR = ":"


@dataclass(frozen=True)
class Organiser:
    """One kind of organiser: whom a user answers for, and who answers for one of them."""

    kind: str
    scope: Callable[..., QuerySet | None]
    answerers: Callable[..., list[User]]


_organisers: dict[str, Organiser] = {}


def register_organiser(
    kind: str,
    *,
    scope: Callable[..., QuerySet | None],
    answerers: Callable[..., list[User]],
) -> None:
    """Make records whose `organiser_ref` is "<kind>:<id>" answered through these functions."""
    _organisers[kind] = Organiser(kind=kind, scope=scope, answerers=answerers)


def _prefix(kind: str) -> str:
    return f"{kind}{SEPARATOR}"


def organiser_ref(kind: str, organiser_id: int) -> str:
    """The `organiser_ref` stored on the records one organiser writes: "<kind>:<id>"."""
    return f"{_prefix(kind)}{organiser_id}"


def organiser_scope_q(*, user: User) -> Q:
    """Records whose disputes the user answers, as a filter on PracticeRecord."""
    if not user.is_authenticated or not user.is_active:
        return NOTHING
    scopes = [
        Q(organiser_ref__in=_refs(kind, organisers))
        for kind, organiser in _organisers.items()
        if (organisers := organiser.scope(user=user)) is not None
    ]
    if not scopes:
        return NOTHING
    combined = scopes[0]
    for scope in scopes[1:]:
        combined |= scope
    return combined


def _refs(kind: str, organisers: QuerySet) -> QuerySet:
    """The `organiser_ref` of each of these organisers, as a subquery (`organiser_ref` in SQL)."""
    return organisers.order_by().values(
        ref=Concat(Value(_prefix(kind)), Cast("pk", output_field=CharField()))
    )


def record_answerers(*, record: PracticeRecord) -> list[User]:
    """Everyone who may answer a dispute about the record (to tell them one was raised)."""
    kind, _, organiser_id = record.organiser_ref.partition(SEPARATOR)
    organiser = _organisers.get(kind)
    if organiser is None or not organiser_id.isdigit():
        return []
    users = organiser.answerers(organiser_id=int(organiser_id))
    return list({user.pk: user for user in users}.values())


def _school_admin_schools(*, user: User) -> QuerySet[School] | None:
    """The schools a school admin works for: they answer for the records the school entered."""
    if user.role != Role.SCHOOL_ADMIN:
        return None
    assignments = TeacherAssignment.objects.filter(user=user, role=TeacherRole.SCHOOL_ADMIN)
    return School.objects.filter(pk__in=assignments.values("school"))


def _school_admins(*, organiser_id: int) -> list[User]:
    admins = TeacherAssignment.objects.filter(
        school_id=organiser_id, role=TeacherRole.SCHOOL_ADMIN
    ).select_related("user")
    return [a.user for a in admins if a.user.is_active]


def school_organiser_register() -> None:
    """Register the school as the organiser of the records its admins enter."""
    register_organiser(SCHOOL, scope=_school_admin_schools, answerers=_school_admins)
