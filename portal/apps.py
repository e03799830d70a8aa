from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from .tempfiles import portal_tmp_dir


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = _("Portal")

    def ready(self):
        # Uploads are received into it (FILE_UPLOAD_TEMP_DIR), which needs it to exist.
        portal_tmp_dir()
        # Every process declares every kind of message the portal stores (portal.messages), and
        # the user cache hears of every change to a user in every process that writes one.
        from . import resources, sheet_problems, user_cache  # noqa: F401
