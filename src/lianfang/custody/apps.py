from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CustodyConfig(AppConfig):
    name = "lianfang.custody"
    label = "custody"
    verbose_name = _("转运与隔离救治")
    default_auto_field = "django.db.models.BigAutoField"
