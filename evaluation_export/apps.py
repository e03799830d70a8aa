from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EvaluationExportConfig(AppConfig):
    name = "evaluation_export"
    verbose_name = _("Evaluation export")

    def ready(self):
        # Every process declares every kind of message the app stores (portal.messages).
        # A record package says which versions of its records the evaluation system holds.
        from students.transfers.packages import exported_versions_source_register

        from . import messages  # noqa: F401
        from .selectors import exported_delta_versions

        exported_versions_source_register(exported_delta_versions)
