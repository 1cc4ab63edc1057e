from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "lianfang.accounts"
    label = "accounts"

    def ready(self):
        from lianfang.accounts import signals  # noqa: F401  (connects the login audit)
