"""Role helpers shared by every app: who a user is, and a decorator that admits only some roles."""

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.http import Http404

from .models import Role, User

DASHBOARD_URL_NAMES = {
    Role.STUDENT: "dashboards:dashboard-student",
    Role.COORDINATOR: "dashboards:dashboard-coordinator",
    Role.HEAD_TEACHER: "dashboards:dashboard-teacher",
    Role.SCHOOL_ADMIN: "dashboards:dashboard-school",
    Role.DISTRICT_ADMIN: "dashboards:dashboard-district",
    Role.CITY_ADMIN: "dashboards:dashboard-city",
    Role.GUARDIAN: "dashboards:dashboard-guardian",
}


def dashboard_url_name(user: User) -> str:
    return DASHBOARD_URL_NAMES.get(user.role, "dashboards:dashboard-none")


def has_role(user: User, *roles: Role) -> bool:
    return bool(user.is_authenticated and user.is_active and user.role in roles)


def role_required(*roles: Role) -> Callable:
    """Admit signed-in users with one of the roles; others get 404, as for a foreign object."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(request, *args, **kwargs):
            if not has_role(request.user, *roles):
                raise Http404
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
