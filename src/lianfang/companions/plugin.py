"""What the companions glue adds: the ``trace companions`` subcommand (server authority)."""

from lianfang.core.plugins import Plugin

PLUGIN = Plugin(app="companions", cli="lianfang.companions.cli.register")
