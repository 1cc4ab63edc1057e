"""The synthetic city's commands (``demo``, ``simulate``)."""

from lianfang.core.plugins import Plugin

PLUGIN = Plugin(app="simulate", cli="lianfang.simulate.cli.register")
