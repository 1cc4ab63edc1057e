from django.apps import AppConfig


class GeoConfig(AppConfig):
    name = "lianfang.geo"
    label = "geo"
