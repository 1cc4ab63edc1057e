"""``lianfang protocol show`` and ``lianfang protocol switch CODE --reason …`` (server authority)."""

from __future__ import annotations

import json

from lianfang.core.commands import fail, needs_database


def register(sub, tools) -> None:
    p = sub.add_parser("protocol", help="the protocol edition in force: show it, or switch to another")
    ps = p.add_subparsers(dest="action", required=True)
    s = ps.add_parser("show", help="print the edition in force and every value it sets")
    s.add_argument("--json", action="store_true", help="print every value as one JSON object")
    s.set_defaults(func=cmd_protocol)
    w = ps.add_parser("switch", help="put another edition in force from now on (audited)")
    w.add_argument("code", help="p9, p8 or community-2022")
    w.add_argument("--reason", required=True, help="the document and its number")
    w.set_defaults(func=cmd_protocol)


@needs_database
def cmd_protocol(args) -> int:
    from lianfang import protocol
    from lianfang.edition.services import EditionError, edition_switch, in_force

    if args.action == "switch":
        try:
            switch = edition_switch(actor=None, code=args.code, reason=args.reason)
        except EditionError as exc:
            return fail(str(exc))
        print(f"protocol {switch.previous} → {switch.edition} / 防控方案已切换")
        return 0
    current = in_force()
    if args.json:
        print(json.dumps(protocol.as_dict(current), ensure_ascii=False))
    else:
        print(f"{current.code}: {current.name_zh} / {current.name_en} ({current.issued}) — {current.source}")
    return 0
