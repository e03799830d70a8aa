from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BasesConfig(AppConfig):
    name = "bases"
    verbose_name = _("Bases and posts")

    def ready(self):
        # Every process declares every kind of message the app stores (portal.messages).
        from . import messages  # noqa: F401

        # Models are importable only once the app registry is ready.
        from .organisers import base_organiser_register

        base_organiser_register()

        # Cached listings hear of every write to what they show, in every process.
        from . import listing_cache  # noqa: F401
