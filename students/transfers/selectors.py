"""Reads of transfers, scoped to the school admin asking."""

from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404

from portal.models import Role, User

from ..models import School, Student, TeacherAssignment, TeacherRole, Transfer


def _admin_schools(user: User):
    return TeacherAssignment.objects.filter(user=user, role=TeacherRole.SCHOOL_ADMIN).values(
        "school"
    )


def transfer_list_for_user(*, user: User) -> QuerySet[Transfer]:
    """Transfers into or out of the user's schools (school admins only), newest first."""
    if user.role != Role.SCHOOL_ADMIN:
        return Transfer.objects.none()
    schools = _admin_schools(user)
    return (
        Transfer.objects.filter(Q(from_school__in=schools) | Q(to_school__in=schools))
        .select_related(
            "student", "from_school", "from_class", "to_school", "to_class", "requested_by"
        )
        .order_by("-requested_at", "-id")
    )


def transfer_get_for_user(*, user: User, transfer_id: int) -> Transfer:
    return get_object_or_404(transfer_list_for_user(user=user), pk=transfer_id)


def students_transferred_out(*, school: School, school_class=None) -> list[Transfer]:
    """Students who moved from the school (or from one class of it), each with the latest
    transfer that took them: one query."""
    transfers = Transfer.objects.all()
    if school_class is not None:
        transfers = transfers.filter(from_class=school_class)
    transfers = (
        transfers.filter(
            from_school=school,
            status="confirmed",
            student__in=Student.objects.transferred_out_of(school).values("pk"),
        )
        .select_related("student", "from_class", "to_school")
        .order_by("-decided_at", "-id")
    )
    seen: set[int] = set()
    rows = []
    for transfer in transfers:
        if transfer.student_id not in seen:
            seen.add(transfer.student_id)
            rows.append(transfer)
    return rows
