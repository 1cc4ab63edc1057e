from django.apps import AppConfig


class CompanionsConfig(AppConfig):
    """No models and no pages yet: the ``trace companions`` command (plugin.py)."""

    name = "lianfang.companions"
    label = "companions"
