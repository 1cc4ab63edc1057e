from django.apps import AppConfig


class PeopleConfig(AppConfig):
    name = "lianfang.people"
    label = "people"
