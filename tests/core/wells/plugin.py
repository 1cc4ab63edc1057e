from lianfang.core.plugins import Importer, NavEntry, Plugin

PLUGIN = Plugin(
    app="wells",
    importers=(
        Importer(kind="wells", run="tests.core.wells.services.wells_import", label=("水井", "wells")),
    ),
    reasons={"dry_well": ("水井已干涸", "the well is dry")},
    verbs={"wells.read": frozenset({"commander"})},
    cli="tests.core.wells.services.register",
    nav=(NavEntry(label="水井", url_name="wells:list", order=99, verb="wells.read", active=("/wells/",)),),
    urls="tests.core.wells.urls",
    provides={"wells_dry": "tests.core.wells.services.dry_wells"},
)
