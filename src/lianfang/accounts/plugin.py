"""What accounts add to the platform: who may read the audit log."""

from lianfang.accounts.roles import Role
from lianfang.core.plugins import Plugin

PLUGIN = Plugin(
    app="accounts",
    verbs={"audit.read": frozenset({Role.AUDITOR})},
)
