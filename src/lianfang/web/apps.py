from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "lianfang.web"
    label = "web"
