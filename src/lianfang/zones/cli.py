"""``lianfang zones status --at T [--json]`` (FORMATS.md "Zones"; server authority)."""

from __future__ import annotations

import json

from lianfang.core.commands import fail, needs_database


def register(sub, tools) -> None:
    p = sub.add_parser("zones", help="risk zones: status at an instant")
    zs = p.add_subparsers(dest="action", required=True)
    s = zs.add_parser("status", help="every zone in force at T: type, regime, clock, proposal")
    s.add_argument("--at", help="the instant (default now); a time without offset is Asia/Shanghai")
    s.add_argument("--json", action="store_true", help="print one JSON object (FORMATS.md)")
    s.set_defaults(func=cmd_status)


@needs_database
def cmd_status(args) -> int:
    from django.utils import timezone

    from lianfang.core.times import format_time, parse_time
    from lianfang.zones.facts import zones_status

    at = timezone.now()
    if args.at:
        at = parse_time(args.at)
        if at is None:
            return fail(f"--at: not a time / 不是有效时间: {args.at}")
    statuses = zones_status(at)
    if args.json:
        print(
            json.dumps({"at": format_time(at), "zones": [s.as_json() for s in statuses]}, ensure_ascii=False)
        )
        return 0
    print(f"zones in force at {format_time(at)} / 生效区域: {len(statuses)}")
    for s in statuses:
        row = s.as_json()
        print(
            f"  {row['zone_code']}  {row['type']}  {row['regime']}  clock_from {row['clock_from']}  "
            f"eligible_at {row['eligible_at']}  proposal {row['proposal'] or '-'}"
        )
    return 0
