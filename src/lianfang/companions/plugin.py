"""What the companions app adds: ``lianfang trace companions`` (server authority), the web runs
over an uploaded pings file, the review list and its bulk confirmation into contacts (through the
``"contacts_confirm_companions"`` fact tracing states: this app never imports tracing)."""

from django.utils.translation import gettext_lazy as _

from lianfang.accounts.roles import Role
from lianfang.core.plugins import AuditObject, NavEntry, Plugin

# Those who trace: tracers, the CDC (the 流调溯源 working group), the command office.
_TRACING = frozenset({Role.TRACER, Role.WORKING_GROUP, Role.COMMAND_OFFICE, Role.ADMIN})

PLUGIN = Plugin(
    app="companions",
    cli="lianfang.companions.cli.register",
    urls="lianfang.companions.urls",
    verbs={
        "companions.run": _TRACING,
        "companions.confirm": _TRACING,
    },
    nav=(
        NavEntry(
            label=_("时空伴随"),
            url_name="companions:review",
            order=31,
            verb="companions.confirm",
            active=("/companions/",),
        ),
    ),
    audit_objects={
        "companions": AuditObject(label=_("时空伴随名单")),
        "companion_run": AuditObject(label=_("时空伴随计算"), url_name="companions:run"),
    },
)
