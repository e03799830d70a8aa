"""The bases app as organiser of ledger records: who answers disputes about a record it wrote.

Records written from a base's attendance carry `organiser_ref` "base:<base id>"
(`_facts_for` in the attendance services); `BasesConfig.ready()` registers these functions
with `students.organisers`, so the ledger never imports this app: the coordinators of that
base answer for the record.
"""

from django.db.models import QuerySet

from portal.models import Role, User
from students.organisers import organiser_ref, register_organiser

from .models import Attendance, Base, Coordinator

BASE = "base"
SOURCE_PREFIX = "attendance:"


def base_organiser_ref(*, base_id: int) -> str:
    """The `organiser_ref` of the ledger records a base's attendance writes."""
    return organiser_ref(BASE, base_id)


def attendance_source_ref(*, attendance: Attendance) -> str:
    """The `source_ref` of the ledger record written from an attendance."""
    return f"{SOURCE_PREFIX}{attendance.pk}"


def organised_bases(*, user: User) -> QuerySet[Base] | None:
    """The bases a coordinator works for: they answer for the records those bases wrote."""
    if user.role != Role.COORDINATOR:
        return None
    return Base.objects.filter(coordinators__user=user)


def base_coordinators(*, organiser_id: int) -> list[User]:
    """The active coordinators of one base."""
    coordinators = Coordinator.objects.filter(base_id=organiser_id).select_related("user")
    return [c.user for c in coordinators if c.user.is_active]


def base_organiser_register() -> None:
    """Make the coordinators of a base answer for the records its attendance wrote."""
    register_organiser(BASE, scope=organised_bases, answerers=base_coordinators)
