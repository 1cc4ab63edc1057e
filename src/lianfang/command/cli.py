"""``lianfang briefing --cutoff T [--json] [--out DIR]`` (FORMATS.md "Daily briefing"), server authority."""

from __future__ import annotations

import json
from pathlib import Path

from lianfang.core.commands import fail, needs_database


def register(sub, tools) -> None:
    p = sub.add_parser("briefing", help="the daily briefing for the 24 hours before a local midnight")
    p.add_argument("--cutoff", required=True, help="a local midnight: 2022-03-26 is 3月25日0—24时")
    p.add_argument("--json", action="store_true", help="print the briefing as one JSON object")
    p.add_argument("--out", help="a folder to write briefing.docx and briefing.pdf into")
    p.set_defaults(func=cmd_briefing)

    p = sub.add_parser("problems", help="the problem list: raise problems from data, escalate overdue ones")
    ps = p.add_subparsers(dest="action", required=True)
    r = ps.add_parser(
        "raise", help="run every raise rule and the escalation (idempotent: run it every few minutes)"
    )
    r.add_argument("--at", help="the time to judge at (default now)")
    r.add_argument("--json", action="store_true", help="print the counts as one JSON object")
    r.set_defaults(func=cmd_problems)


@needs_database
def cmd_briefing(args) -> int:
    from lianfang.command.documents import press_text, write_documents
    from lianfang.command.services.briefing import briefing_answer, briefing_publish, parse_cutoff
    from lianfang.core.errors import Refused

    try:
        cutoff = parse_cutoff(args.cutoff)
        briefing = briefing_publish(cutoff=cutoff)
        if args.out:
            write_documents(briefing, Path(args.out))
    except Refused as exc:
        return fail(str(exc))
    if args.json:
        print(json.dumps(briefing_answer(briefing), ensure_ascii=False))
    else:
        print(press_text(briefing))
    return 0


@needs_database
def cmd_problems(args) -> int:
    from lianfang.command.services.problems import problems_raise
    from lianfang.core.times import parse_time

    at = None
    if args.at:
        at = parse_time(args.at)
        if at is None:
            return fail(f"--at: not a time / 不是有效时间: {args.at}")
    counts = problems_raise(now=at)
    if args.json:
        print(json.dumps(counts, ensure_ascii=False))
    else:
        print("  ".join(f"{k} {v}" for k, v in counts.items()))
    return 0
