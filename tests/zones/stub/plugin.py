from lianfang.core.plugins import Plugin

PLUGIN = Plugin(
    app="zones_stub",
    provides={
        "cases_as_of": "tests.zones.stub.facts.cases_as_of",
        "plans_as_of": "tests.zones.stub.facts.plans_as_of",
    },
)
