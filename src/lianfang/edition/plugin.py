"""What the edition in force adds: its page, its command, who may switch it."""

from django.utils.translation import gettext_lazy as _

from lianfang.accounts.roles import Role
from lianfang.core.plugins import AuditObject, NavEntry, Plugin

PLUGIN = Plugin(
    app="edition",
    verbs={"protocol.switch": frozenset({Role.COMMANDER, Role.ADMIN})},
    cli="lianfang.edition.cli.register",
    urls="lianfang.edition.urls",
    nav=(NavEntry(label=_("防控方案"), url_name="edition:page", order=80, active=("/protocol/",)),),
    audit_objects={"protocol": AuditObject(_("防控方案版本"))},
    audit_fields={"from": _("原版本"), "to": _("新版本")},
)
