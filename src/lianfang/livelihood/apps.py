from django.apps import AppConfig


class LivelihoodConfig(AppConfig):
    name = "lianfang.livelihood"
    label = "livelihood"
    verbose_name = "保民生 / Livelihood"
