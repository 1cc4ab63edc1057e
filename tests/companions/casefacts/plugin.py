from lianfang.core.plugins import Plugin

PLUGIN = Plugin(app="casefacts", provides={"cases_as_of": "tests.companions.casefacts.facts.cases_as_of"})
