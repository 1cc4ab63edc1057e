"""``lianfang trace plans --out FILE`` (server authority). The ``trace`` group is shared
(``core.commands.subcommand_group``): another app adds ``trace companions`` to it."""

from __future__ import annotations

from pathlib import Path

from lianfang.core.commands import fail, needs_database, subcommand_group


def register(sub, tools) -> None:
    trace = subcommand_group(sub, "trace", help="tracing: plans, companions (FORMATS.md)")
    p = trace.add_parser("plans", help="write the plans report (FORMATS.md, lianfang trace plans)")
    p.add_argument("--out", required=True, help="the CSV file to write")
    p.add_argument("--at", help="the report as it stood at this time (default: now, everything recorded)")
    p.set_defaults(func=cmd_plans)


@needs_database
def cmd_plans(args) -> int:
    from lianfang.core.times import parse_time
    from lianfang.tracing.report import plans_report_write

    at = None
    if args.at:
        at = parse_time(args.at)
        if at is None:
            return fail(f"--at: not a time / 不是有效时间: {args.at}")
    try:
        count = plans_report_write(out=Path(args.out), at=at)
    except OSError as exc:
        return fail(f"cannot write / 无法写入 {args.out}: {exc}")
    print(f"{count} plans written to {args.out} / 已写出 {count} 条管控计划")
    return 0
