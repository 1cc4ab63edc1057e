from django.apps import AppConfig


class WellsConfig(AppConfig):
    name = "tests.core.wells"
    label = "wells"
