from django.apps import AppConfig


class DemoConfig(AppConfig):
    """No models, so no name in the admin: nothing to translate."""

    name = "demo"
