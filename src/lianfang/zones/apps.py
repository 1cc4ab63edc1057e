from django.apps import AppConfig


class ZonesConfig(AppConfig):
    name = "lianfang.zones"
    label = "zones"
    verbose_name = "风险区域 / Zones"
