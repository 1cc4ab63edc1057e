"""What the command layer adds: the daily briefing, the problem list, who may do what."""

from django.utils.translation import gettext_lazy as _

from lianfang.accounts.roles import Role
from lianfang.core.plugins import NavEntry, Plugin

_OFFICE = {Role.COMMANDER, Role.COMMAND_OFFICE, Role.ADMIN}

PLUGIN = Plugin(
    app="command",
    verbs={
        "briefing.read": frozenset({*_OFFICE, Role.WORKING_GROUP, Role.INSPECTOR}),
        "briefing.publish": frozenset(_OFFICE),
    },
    cli="lianfang.command.cli.register",
    urls="lianfang.command.urls",
    nav=(
        NavEntry(
            label=_("每日通报"),
            url_name="command:briefings",
            order=60,
            verb="briefing.read",
            active=("/briefing/",),
        ),
    ),
)
