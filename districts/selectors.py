from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404

from portal.models import Role, User

from .models import District

NOTHING = Q(pk__in=[])


def district_scope_q(*, user: User, prefix: str = "") -> Q:
    """Districts a user administers: all for the city admin, one for a district admin."""
    if user.role == Role.CITY_ADMIN:
        return Q()
    if user.role == Role.DISTRICT_ADMIN:
        return Q(**{f"{prefix}admins__user": user})
    return NOTHING


def district_list() -> QuerySet[District]:
    """All districts, public, in their official order."""
    return District.objects.order_by("sort_order", "code")


def district_list_for_user(*, user: User) -> QuerySet[District]:
    return district_list().filter(district_scope_q(user=user))


def district_get_for_user(*, user: User, district_id: int) -> District:
    return get_object_or_404(district_list_for_user(user=user), pk=district_id)


def district_of_admin(*, user: User) -> District | None:
    return District.objects.filter(admins__user=user).first()
