"""The bases app as organiser of ledger records: who answers disputes about a record it wrote.

`students.disputes` discovers this module (`<app>.organisers`) so that the ledger never imports
the bases app: records written by `session_attendance_close` carry `source_ref` "attendance:<id>",
and the coordinators of that attendance's base answer for them.
"""

from django.db.models import CharField, Q, Value
from django.db.models.functions import Cast, Concat

from portal.models import Role, User
from students.models import PracticeRecord

from .models import Attendance, Coordinator

SOURCE_PREFIX = "attendance:"


def attendance_source_ref(*, attendance: Attendance) -> str:
    """The `source_ref` of the ledger record written from an attendance."""
    return f"{SOURCE_PREFIX}{attendance.pk}"


def records_organised_q(*, user: User) -> Q | None:
    """Records written from the attendance of the bases a coordinator works for."""
    if user.role != Role.COORDINATOR:
        return None
    refs = (
        Attendance.objects.filter(session__post__base__coordinators__user=user)
        .annotate(ref=Concat(Value(SOURCE_PREFIX), Cast("pk", output_field=CharField())))
        .values("ref")
    )
    return Q(source_ref__in=refs)


def answerers_of_record(*, record: PracticeRecord) -> list[User]:
    """The coordinators of the base whose attendance wrote the record."""
    prefix, _, attendance_id = record.source_ref.partition(":")
    if f"{prefix}:" != SOURCE_PREFIX or not attendance_id.isdigit():
        return []
    coordinators = Coordinator.objects.filter(
        base__posts__sessions__attendances__pk=int(attendance_id)
    ).select_related("user")
    return [c.user for c in coordinators if c.user.is_active]
