from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SimulateConfig(AppConfig):
    name = "lianfang.simulate"
    label = "simulate"
    verbose_name = _("模拟城市")
