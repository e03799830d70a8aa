from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path

from . import accounts, views

portal_patterns = [
    path("", views.home, name="home"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("dashboard/none/", views.dashboard_none, name="dashboard-none"),
    path("dashboard/student/", views.dashboard_student, name="dashboard-student"),
    path("dashboard/coordinator/", views.dashboard_coordinator, name="dashboard-coordinator"),
    path("dashboard/teacher/", views.dashboard_teacher, name="dashboard-teacher"),
    path("dashboard/school/", views.dashboard_school, name="dashboard-school"),
    path("dashboard/district/", views.dashboard_district, name="dashboard-district"),
    path("dashboard/city/", views.dashboard_city, name="dashboard-city"),
]

urlpatterns = [
    path("", include((portal_patterns, "portal"))),
    path("", include("bases.urls")),
    path("", include("students.urls")),
    path("export/", include("evaluation_export.urls")),
    path(
        "accounts/password_reset/",
        accounts.PasswordResetView.as_view(),
        name="password_reset",
    ),
    path("accounts/", include("django.contrib.auth.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
]

handler400 = "portal.errors.bad_request"
handler403 = "portal.errors.permission_denied"
handler404 = "portal.errors.page_not_found"
handler500 = "portal.errors.server_error"

if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
