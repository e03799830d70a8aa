"""The portal's URLs plus one view that fails, to see the 500 page as a user would."""

from django.core.exceptions import PermissionDenied
from django.urls import path

from portal.urls import handler400, handler403, handler404, handler500, urlpatterns  # noqa: F401


def _fails(request):
    raise RuntimeError("a bug in a view")


def _forbidden(request):
    raise PermissionDenied


urlpatterns = [
    path("test-errors/fails/", _fails),
    path("test-errors/forbidden/", _forbidden),
    *urlpatterns,
]
