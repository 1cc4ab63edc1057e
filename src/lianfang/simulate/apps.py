from django.apps import AppConfig


class SimulateConfig(AppConfig):
    name = "lianfang.simulate"
    label = "simulate"
    verbose_name = "synthetic city"
