from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DistrictsConfig(AppConfig):
    name = "districts"
    verbose_name = _("Districts")

    def ready(self):
        # Every process declares every kind of message the app stores (portal.messages).
        from . import messages  # noqa: F401
