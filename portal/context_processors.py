from django.conf import settings

from .preferences import large_text_on
from .roles import dashboard_url_name


def navigation(request):
    user = getattr(request, "user", None)
    return {
        "portal_name": settings.PORTAL_NAME,
        "dashboard_url_name": dashboard_url_name(user) if user and user.is_authenticated else "",
        "large_text": large_text_on(request),
    }
