"""What risk zones add to the platform: the zones.csv import, its reasons, who may designate and
sign, the ``zones`` command, the pages and the person page's zone panel."""

from django.utils.translation import gettext_lazy as _

from lianfang.accounts.roles import Role
from lianfang.core.plugins import Importer, NavEntry, Periodic, PersonPanel, Plugin

_OFFICE = {Role.COMMAND_OFFICE, Role.ADMIN}
_STAFF = {Role.COMMANDER, Role.WORKING_GROUP, Role.INSPECTOR, Role.COMMUNITY_WORKER, Role.VOLUNTEER, *_OFFICE}

PLUGIN = Plugin(
    app="zones",
    periodic=(
        Periodic(
            name="zones.proposals",
            run="lianfang.zones.services.proposals.proposals_refresh_timed",
            every_seconds=300,
            help="open or withdraw each zone's lift or change proposal as its clock stands",
        ),
    ),
    importers=(
        Importer(
            kind="zones",
            run="lianfang.zones.services.zones_import",
            label=("风险区域", "zones"),
            progress=False,
        ),
    ),
    verbs={
        "zones.import": frozenset({Role.COMMANDER, *_OFFICE}),
        "zone.designate": frozenset({Role.COMMANDER, *_OFFICE}),
        # A commander signs or rejects a proposal (DOMAIN.md §2); the administrator holds every verb.
        "zone.sign": frozenset({Role.COMMANDER, Role.ADMIN}),
        "zone.residents.read": frozenset(
            {Role.COMMANDER, Role.WORKING_GROUP, Role.COMMUNITY_WORKER, Role.TRACER, *_OFFICE}
        ),
        "zone.read": frozenset(_STAFF | {Role.TRACER, Role.AUDITOR}),
    },
    reasons={
        "bad_type": (
            "区域类型须为 封控区/管控区/防范区、高/中/低风险区 或 解除",
            "the type must be sealed, controlled, precaution, high, medium, low or lifted",
        ),
        "unknown_area": (
            "范围须为已知的社区（村）代码，以分号分隔（不接受乡镇或县区代码，或不在您的辖区内）",
            "the area must be known community codes joined by ';' (no town or county code; "
            "or outside your jurisdiction)",
        ),
        "stale_change": (
            "变更时间不晚于该区域最近一次变更，未记录",
            "the change is not later than the zone's last change: not recorded",
        ),
    },
    cli="lianfang.zones.cli.register",
    urls="lianfang.zones.urls",
    nav=(
        NavEntry(label=_("风险区域"), url_name="zones:list", order=30, verb="zone.read", active=("/zones/",)),
    ),
    person_panels=(
        PersonPanel(
            template="lianfang/zones/person_panel.html",
            context="lianfang.zones.panels.person_zones",
            order=20,
        ),
    ),
)
