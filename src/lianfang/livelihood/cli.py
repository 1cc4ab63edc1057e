"""``lianfang livelihood escalate`` (server authority): the worker runs it every minute
(``livelihood.escalate``, docs/operations.md "Timed jobs"); this runs it at once."""

from __future__ import annotations

from lianfang.core.commands import needs_database


def register(sub, tools) -> None:
    p = sub.add_parser("livelihood", help="residents' requests: escalate urgent ones not accepted in time")
    ls = p.add_subparsers(dest="action", required=True)
    e = ls.add_parser("escalate", help="escalate, once, urgent requests past their minutes")
    e.set_defaults(func=cmd_escalate)


@needs_database
def cmd_escalate(args) -> int:
    from lianfang.livelihood.services import requests_escalate

    late = requests_escalate()
    print(f"escalated / 已升级: {len(late)}")
    return 0
