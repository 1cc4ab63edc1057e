"""What custody adds: transfer orders, isolation and treatment places, stays and the home health
monitoring after a discharge; the facts it states (discharges, who is in custody, its overdue
hand-offs) and the person page's custody panel."""

from django.utils.translation import gettext_lazy as _

from lianfang.accounts.roles import Role
from lianfang.core.plugins import Importer, NavEntry, PersonPanel, Plugin

_OFFICE = {Role.COMMAND_OFFICE, Role.ADMIN}

# The places file's own refusals (``unknown_community`` and ``code_taken`` are geo's and
# screening's, in the same words).
_PLACE_REASONS = {
    "bad_kind": (
        "场所类型须为 hotel（集中隔离点/酒店）、fangcang（方舱）或 designated_hospital（定点医院）",
        "the kind must be hotel, fangcang or designated_hospital",
    ),
    "missing_name": ("请填写名称", "the name is required"),
    "bad_units": (
        "房间/床位号格式无效（例：101-120, 201；最多 2000 个，不可重复）",
        "bad room/bed list (e.g. 101-120, 201; at most 2,000, no repeats)",
    ),
    "bad_beds": ("每间床数须为 1 至 20 的整数", "beds must be a whole number from 1 to 20"),
}

PLUGIN = Plugin(
    app="custody",
    importers=(
        Importer(
            kind="places",
            run="lianfang.custody.services.place_import.places_import",
            label=("隔离点与救治场所", "isolation and treatment places"),
            progress=False,
        ),
    ),
    reasons=_PLACE_REASONS,
    verbs={
        # A tracer (or the office) orders a transfer; the transfer team moves it along.
        "transfer.request": frozenset({Role.TRACER, Role.TRANSFER, Role.WORKING_GROUP, *_OFFICE}),
        "transfer.dispatch": frozenset({Role.TRANSFER, *_OFFICE}),
        "place.manage": frozenset({Role.WORKING_GROUP, *_OFFICE}),
        # Check-in, tests, release and discharge: the place's own staff.
        "stay.manage": frozenset({Role.ISOLATION, Role.ADMIN}),
        # Tests of the home health monitoring after a discharge: the grid worker of the home
        # community, or the home jurisdiction's medical staff (sampling at the door).
        "monitoring.record": frozenset({Role.COMMUNITY_WORKER, Role.ISOLATION, Role.ADMIN}),
    },
    urls="lianfang.custody.urls",
    api_router="lianfang.custody.api.router",
    api_prefix="/custody",
    nav=(
        NavEntry(label=_("转运"), url_name="custody:transfers", order=40, active=("/custody/transfers/",)),
        NavEntry(
            label=_("隔离救治"),
            url_name="custody:places",
            order=41,
            active=("/custody/places/", "/custody/stays/"),
        ),
        NavEntry(
            label=_("居家监测"), url_name="custody:monitoring", order=42, active=("/custody/monitoring/",)
        ),
    ),
    person_panels=(
        PersonPanel(
            template="lianfang/custody/person_panel.html",
            context="lianfang.custody.panels.person_custody",
            order=40,
        ),
    ),
    provides={
        "discharges_as_of": "lianfang.custody.facts.discharges_as_of",
        "in_custody.custody": "lianfang.custody.facts.in_custody",
        "in_custody_sql.custody": "lianfang.custody.facts.in_custody_sql",
        "overdue.custody": "lianfang.custody.facts.overdue",
        "places_now": "lianfang.custody.facts.places_now",
    },
)
