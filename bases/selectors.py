"""Reads of bases, posts, sessions and applications, each scoped to the user asking."""

from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404

from portal.models import Role, User
from students.models import TeacherAssignment, TeacherRole
from students.selectors import student_scope_q

from .models import Application, Base, Coordinator, Post, Session

NOTHING = Q(pk__in=[])


def base_scope_q(*, user: User, prefix: str = "") -> Q:
    """Bases a user manages or oversees, as a filter on `<prefix>` pointing at Base."""
    if user.role == Role.CITY_ADMIN:
        return Q()
    if user.role == Role.DISTRICT_ADMIN:
        return Q(**{f"{prefix}district__admins__user": user})
    if user.role == Role.COORDINATOR:
        return Q(**{f"{prefix}pk__in": Coordinator.objects.filter(user=user).values("base")})
    if user.role == Role.SCHOOL_ADMIN:
        schools = TeacherAssignment.objects.filter(user=user, role=TeacherRole.SCHOOL_ADMIN)
        return Q(**{f"{prefix}contracts__school__in": schools.values("school")})
    return NOTHING


def base_list_for_user(*, user: User) -> QuerySet[Base]:
    return (
        Base.objects.filter(base_scope_q(user=user))
        .select_related("district")
        .distinct()
        .order_by("district__sort_order", "code")
    )


def base_get_for_user(*, user: User, base_id: int) -> Base:
    return get_object_or_404(base_list_for_user(user=user), pk=base_id)


def post_list_for_user(*, user: User) -> QuerySet[Post]:
    bases = Base.objects.filter(base_scope_q(user=user)).values("pk")
    return (
        Post.objects.filter(base__in=bases)
        .select_related("base__district", "category")
        .order_by("base__code", "title")
    )


def post_get_for_user(*, user: User, post_id: int) -> Post:
    return get_object_or_404(post_list_for_user(user=user), pk=post_id)


def session_list_for_user(*, user: User) -> QuerySet[Session]:
    bases = Base.objects.filter(base_scope_q(user=user)).values("pk")
    return (
        Session.objects.filter(post__base__in=bases)
        .select_related("post__base__district", "post__category")
        .order_by("starts_at", "id")
    )


def session_get_for_user(*, user: User, session_id: int) -> Session:
    return get_object_or_404(session_list_for_user(user=user), pk=session_id)


def application_scope_q(*, user: User) -> Q:
    """Applications a user may see: their own, their students', or their base's applicants."""
    if user.role == Role.COORDINATOR:
        bases = Coordinator.objects.filter(user=user).values("base")
        return Q(session__post__base__in=bases)
    return student_scope_q(user=user, prefix="student__")


def application_list_for_user(*, user: User) -> QuerySet[Application]:
    return (
        Application.objects.filter(application_scope_q(user=user))
        .select_related("student__school_class__school", "session__post__base")
        .order_by("-created_at", "-id")
    )


def application_get_for_user(*, user: User, application_id: int) -> Application:
    return get_object_or_404(application_list_for_user(user=user), pk=application_id)


def bases_of_coordinator(*, user: User) -> QuerySet[Base]:
    return Base.objects.filter(coordinators__user=user).select_related("district").order_by("code")
