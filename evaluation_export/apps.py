from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EvaluationExportConfig(AppConfig):
    name = "evaluation_export"
    verbose_name = _("Evaluation export")

    def ready(self):
        # Every process declares every kind of message the app stores (portal.messages).
        from . import messages  # noqa: F401
