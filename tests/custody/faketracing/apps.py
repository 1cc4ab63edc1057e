from django.apps import AppConfig


class FakeTracingConfig(AppConfig):
    name = "tests.custody.faketracing"
    label = "faketracing"
