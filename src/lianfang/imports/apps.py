from django.apps import AppConfig


class ImportsConfig(AppConfig):
    name = "lianfang.imports"
    label = "imports"
