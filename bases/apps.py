from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BasesConfig(AppConfig):
    name = "bases"
    verbose_name = _("Bases and posts")

    def ready(self):
        # Models are importable only once the app registry is ready.
        from .organisers import base_organiser_register

        base_organiser_register()
