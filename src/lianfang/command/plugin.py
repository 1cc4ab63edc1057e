"""What the command layer adds: the daily briefing, the problem list, who may do what."""

from django.utils.translation import gettext_lazy as _

from lianfang.accounts.roles import Role
from lianfang.core.plugins import HomeSection, NavEntry, Periodic, Plugin

_OFFICE = {Role.COMMANDER, Role.COMMAND_OFFICE, Role.ADMIN}

PLUGIN = Plugin(
    app="command",
    verbs={
        "briefing.read": frozenset({*_OFFICE, Role.WORKING_GROUP, Role.INSPECTOR}),
        "briefing.publish": frozenset(_OFFICE),
        "command.organise": frozenset(_OFFICE),
        "directive.read": frozenset({*_OFFICE, Role.WORKING_GROUP, Role.INSPECTOR}),
        "directive.send": frozenset({*_OFFICE, Role.WORKING_GROUP}),
        "directive.ack": frozenset({*_OFFICE, Role.WORKING_GROUP}),
        "screen.read": frozenset({*_OFFICE, Role.WORKING_GROUP, Role.INSPECTOR}),
        "problem.read": frozenset({*_OFFICE, Role.WORKING_GROUP, Role.INSPECTOR, Role.COMMUNITY_WORKER}),
        # Filed by an inspector, a commander or an (upper) working group.
        "problem.file": frozenset({*_OFFICE, Role.WORKING_GROUP, Role.INSPECTOR}),
        # The responsible unit rectifies and reports; the inspector or the command verifies.
        "problem.rectify": frozenset({*_OFFICE, Role.WORKING_GROUP, Role.COMMUNITY_WORKER}),
        "problem.verify": frozenset({*_OFFICE, Role.INSPECTOR}),
        # Each app scopes its own late items: a tracer sees traces, a grid worker their community's.
        "overdue.read": frozenset(
            {
                *_OFFICE,
                Role.WORKING_GROUP,
                Role.INSPECTOR,
                Role.TRACER,
                Role.TRANSFER,
                Role.ISOLATION,
                Role.COMMUNITY_WORKER,
            }
        ),
        "problem.evidence": frozenset({*_OFFICE, Role.WORKING_GROUP, Role.INSPECTOR, Role.COMMUNITY_WORKER}),
    },
    cli="lianfang.command.cli.register",
    periodic=(
        Periodic(
            name="problems.raise",
            run="lianfang.command.services.problems.problems_raise_timed",
            every_seconds=300,
            help="the problem list's rules over the data, and escalation of overdue problems",
        ),
    ),
    home=(
        HomeSection(
            template="lianfang/command/home_act_now.html",
            context="lianfang.command.home.problems_and_directives",
            order=20,
        ),
        HomeSection(
            template="lianfang/command/home_queues.html",
            context="lianfang.command.home.group_queues",
            order=21,
        ),
    ),
    urls="lianfang.command.urls",
    nav=(
        NavEntry(
            label=_("指挥调度"),
            url_name="command:posts",
            order=56,
            verb="directive.read",
            active=("/posts/", "/directives/"),
        ),
        NavEntry(
            label=_("指挥大屏"), url_name="command:screen", order=50, verb="screen.read", active=("/screen/",)
        ),
        NavEntry(
            label=_("超时看板"),
            url_name="command:overdue",
            order=54,
            verb="overdue.read",
            active=("/overdue/",),
        ),
        NavEntry(
            label=_("问题清单"),
            url_name="command:problems",
            order=55,
            verb="problem.read",
            active=("/problems/",),
        ),
        NavEntry(
            label=_("每日通报"),
            url_name="command:briefings",
            order=60,
            verb="briefing.read",
            active=("/briefing/",),
        ),
    ),
)
