"""``lianfang places link [--community CODE]``: place registry people in the buildings their
addresses name (server authority; people.placing)."""

from __future__ import annotations

from lianfang.core.commands import fail, needs_database


def register(sub, tools) -> None:
    p = sub.add_parser("places", help="registry people and their buildings")
    ps = p.add_subparsers(dest="action", required=True)
    s = ps.add_parser(
        "link",
        help="give people without a building the one their address names (a set building is kept)",
    )
    s.add_argument(
        "--community",
        action="append",
        help="a community code (repeatable; default: every community with buildings)",
    )
    s.set_defaults(func=cmd_link)


@needs_database
def cmd_link(args) -> int:
    from lianfang.people.placing import communities_with_level, place_residents

    communities = None
    if args.community:
        wanted = {c.strip() for part in args.community for c in part.split(",") if c.strip()}
        unknown = sorted(wanted - set(communities_with_level(wanted)))
        if unknown:
            return fail(f"not a community code / 不是社区（村）代码: {', '.join(unknown)}")
        communities = sorted(wanted)
    placed = place_residents(communities)
    print(
        f"residents_placed {placed.linked}  residents_unmatched {placed.unmatched}\n"
        f"已关联楼栋 {placed.linked} 人，地址未匹配 {placed.unmatched} 人"
    )
    return 0
