from django.apps import AppConfig


class TracingConfig(AppConfig):
    name = "lianfang.tracing"
    label = "tracing"
    verbose_name = "流调溯源 / Tracing"
