from django.apps import AppConfig


class StubConfig(AppConfig):
    name = "tests.zones.stub"
    label = "zones_stub"
