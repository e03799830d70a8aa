from django.apps import AppConfig


class DashboardsConfig(AppConfig):
    """No models, so no name in the admin: nothing to translate."""

    name = "dashboards"
