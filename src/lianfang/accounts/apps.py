from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "lianfang.accounts"
    label = "accounts"
    verbose_name = _("账号与审计")

    def ready(self):
        from lianfang.accounts import signals  # noqa: F401  (connects the login audit)
