from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class StudentsConfig(AppConfig):
    name = "students"
    verbose_name = _("Schools and students")

    def ready(self):
        # Every process declares every kind of message the app stores (portal.messages).
        from . import messages  # noqa: F401

        # Models are importable only once the app registry is ready.
        from .organisers import school_organiser_register

        school_organiser_register()
