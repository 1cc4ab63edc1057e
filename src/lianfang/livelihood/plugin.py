"""What livelihood adds: who may file, handle and deliver residents' requests, the board, the
hotline form, the resident page by QR code, the escalation command and the overdue fact."""

from django.utils.translation import gettext_lazy as _

from lianfang.accounts.roles import Role
from lianfang.core.plugins import NavEntry, Periodic, PersonPanel, Plugin

_OFFICE = {Role.COMMAND_OFFICE, Role.ADMIN}

PLUGIN = Plugin(
    app="livelihood",
    periodic=(
        Periodic(
            name="livelihood.escalate",
            run="lianfang.livelihood.services.requests.requests_escalate_timed",
            every_seconds=60,  # the requests' clocks are in minutes
            help="escalate, once, urgent requests not accepted in time",
        ),
    ),
    verbs={
        "request.file": frozenset({Role.COMMUNITY_WORKER, Role.WORKING_GROUP, *_OFFICE}),
        "request.hotline": frozenset({Role.WORKING_GROUP, *_OFFICE}),  # the 12345 operators
        "request.handle": frozenset({Role.COMMUNITY_WORKER, Role.WORKING_GROUP, *_OFFICE}),
        "request.deliver": frozenset({Role.COMMUNITY_WORKER, Role.VOLUNTEER, Role.WORKING_GROUP, *_OFFICE}),
        "packages.manage": frozenset({Role.WORKING_GROUP, *_OFFICE}),
        "request.read": frozenset(
            {
                Role.COMMANDER,
                Role.COMMUNITY_WORKER,
                Role.VOLUNTEER,
                Role.WORKING_GROUP,
                Role.INSPECTOR,
                *_OFFICE,
            }
        ),
    },
    cli="lianfang.livelihood.cli.register",
    urls="lianfang.livelihood.urls",
    nav=(
        NavEntry(
            label=_("保民生"),
            url_name="livelihood:board",
            order=35,
            verb="request.read",
            active=("/livelihood/",),
        ),
    ),
    provides={
        "overdue.livelihood": "lianfang.livelihood.selectors.overdue",
        "requests_in_area": "lianfang.livelihood.selectors.requests_in_area",
    },
    person_panels=(
        PersonPanel(
            template="lianfang/livelihood/person_panel.html",
            context="lianfang.livelihood.panels.person_requests",
            order=30,
        ),
    ),
)
