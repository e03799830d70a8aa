from django.conf import settings

from .preferences import large_text_on
from .roles import dashboard_url_name


def navigation(request):
    user = getattr(request, "user", None)
    return {
        "portal_name": settings.PORTAL_NAME,
        "dashboard_url_name": dashboard_url_name(user) if user and user.is_authenticated else "",
        "operator": {
            "name": settings.PORTAL_OPERATOR,
            "email": settings.PORTAL_CONTACT_EMAIL,
            "hotline": settings.PORTAL_HOTLINE,
            "hours": settings.PORTAL_HOTLINE_HOURS,
            "icp": settings.PORTAL_ICP_NUMBER,
        },
        "large_text": large_text_on(request),
    }
