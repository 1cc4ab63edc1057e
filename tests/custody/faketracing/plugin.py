from lianfang.core.plugins import Plugin

PLUGIN = Plugin(
    app="faketracing",
    provides={
        "cases_as_of": "tests.custody.faketracing.facts.cases_as_of",
        "plans_as_of": "tests.custody.faketracing.facts.plans_as_of",
    },
)
