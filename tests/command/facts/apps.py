from django.apps import AppConfig


class FactsConfig(AppConfig):
    name = "tests.command.facts"
    label = "command_test_facts"
