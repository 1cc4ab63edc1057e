from django.apps import AppConfig


class ScreeningConfig(AppConfig):
    name = "lianfang.screening"
    label = "screening"
    verbose_name = "核酸筛查 / Screening"
