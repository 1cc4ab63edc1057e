from django.apps import AppConfig


class CommandConfig(AppConfig):
    name = "lianfang.command"
    label = "command"
    verbose_name = "指挥调度 / Command"
    default_auto_field = "django.db.models.BigAutoField"
