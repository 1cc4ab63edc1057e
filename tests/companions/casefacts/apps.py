from django.apps import AppConfig


class CaseFactsConfig(AppConfig):
    name = "tests.companions.casefacts"
    label = "casefacts"
