from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "lianfang.accounts"
    label = "accounts"
