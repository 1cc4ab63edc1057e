from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EditionConfig(AppConfig):
    name = "lianfang.edition"
    label = "edition"
    verbose_name = _("防控方案版本")
