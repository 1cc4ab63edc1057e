from django.apps import AppConfig


class CompanionsConfig(AppConfig):
    """Companions of cases in telecom pings: ``lianfang trace companions`` and the web runs (plugin.py)."""

    name = "lianfang.companions"
    label = "companions"
