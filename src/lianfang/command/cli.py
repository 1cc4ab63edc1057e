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
