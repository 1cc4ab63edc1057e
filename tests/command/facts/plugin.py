from lianfang.core.plugins import Plugin

PLUGIN = Plugin(
    app="command_test_facts",
    provides={
        "cases_as_of": "tests.command.facts.state.cases_as_of",
        "plans_as_of": "tests.command.facts.state.plans_as_of",
        "discharges_as_of": "tests.command.facts.state.discharges_as_of",
        "overdue.command_test_facts": "tests.command.facts.state.overdue",
    },
)
