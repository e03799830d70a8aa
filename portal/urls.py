from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path, re_path
from django.views.static import serve

from . import accounts, activation, notifications, preferences

urlpatterns = [
    path("", include("dashboards.urls")),
    path("", include("bases.urls")),
    path("", include("students.urls")),
    path("export/", include("evaluation_export.urls")),
    path(
        "accounts/password_reset/",
        accounts.PasswordResetView.as_view(),
        name="password_reset",
    ),
    path("accounts/activate/", activation.activate, name="activate"),
    path(
        "accounts/password_change/",
        activation.PasswordChangeView.as_view(),
        name="password_change",
    ),
    path("accounts/", include("django.contrib.auth.urls")),
    path("notifications/", notifications.notification_list, name="notifications"),
    path(
        "notifications/<int:notification_id>/open/",
        notifications.notification_open,
        name="notification-open",
    ),
    path(
        "notifications/read-all/",
        notifications.notification_read_all,
        name="notifications-read-all",
    ),
    path("i18n/setlang/", accounts.language_set, name="set_language"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("text-size/", preferences.text_size, name="text-size"),
    path("admin/", admin.site.urls),
    # Pictures of bases and posts are public; only their folder is served, never the rest of
    # MEDIA_ROOT (export batches live there). A proxy in front may serve the folder itself.
    re_path(
        r"^media/(?P<path>images/(?:bases|posts)/[0-9a-f]{32}\.(?:jpg|png))$",
        serve,
        {"document_root": settings.MEDIA_ROOT},
        name="media-image",
    ),
]

handler400 = "portal.errors.bad_request"
handler403 = "portal.errors.permission_denied"
handler404 = "portal.errors.page_not_found"
handler500 = "portal.errors.server_error"

if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
