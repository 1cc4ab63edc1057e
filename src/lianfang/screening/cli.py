"""``lianfang round open|close|report`` and ``lianfang device issue`` (server authority)."""

from __future__ import annotations

import json
from pathlib import Path

from lianfang.core.commands import fail, needs_database


def register(sub, tools) -> None:
    p = sub.add_parser("round", help="screening rounds: open, close, report")
    rs = p.add_subparsers(dest="action", required=True)
    o = rs.add_parser("open", help="open a round")
    o.add_argument("code", help="the round's code (unique)")
    o.add_argument("--name", default="", help="the round's name (default: its code)")
    o.add_argument(
        "--scope", action="append", required=True, help="division codes, comma-separated (repeatable)"
    )
    o.add_argument(
        "--pool", default="10", choices=["single", "household", "5", "10", "20"], help="pool policy"
    )
    o.add_argument("--start", help="start time (default now)")
    o.add_argument("--deadline", help="deadline (default start + the protocol's round hours)")
    o.set_defaults(func=cmd_round)
    c = rs.add_parser("close", help="close a round (later samples are refused)")
    c.add_argument("code", help="the round's code")
    c.set_defaults(func=cmd_round)
    r = rs.add_parser("report", help="write the round report files (FORMATS.md)")
    r.add_argument("code", help="the round's code")
    r.add_argument("--out", required=True, help="the folder to write the report's files into")
    r.set_defaults(func=cmd_round)

    p = sub.add_parser("device", help="issue a device token bound to a sampling site or a lab")
    p.add_argument("action", choices=["issue"], help="issue: create a token (its key is printed once)")
    p.add_argument("username", help="the device's user (its role and jurisdictions apply)")
    group = p.add_mutually_exclusive_group(required=True)
    group.add_argument("--site", help="the sampling site's code")
    group.add_argument("--lab", help="the lab's code")
    p.add_argument("--name", default="", help="a name for the token (default: the site or lab code)")
    p.set_defaults(func=cmd_device)


@needs_database
def cmd_round(args) -> int:
    from lianfang.core.times import parse_time
    from lianfang.screening.models import Round
    from lianfang.screening.services import ScreeningError, round_close, round_open

    try:
        if args.action == "open":
            times = {}
            for name in ("start", "deadline"):
                text = getattr(args, name)
                if text:
                    times[name] = parse_time(text)
                    if times[name] is None:
                        return fail(f"--{name}: not a time / 不是有效时间: {text}")
            scope = [c for part in args.scope for c in part.split(",")]
            rnd = round_open(
                actor=None,
                code=args.code,
                name=args.name or args.code,
                scope=scope,
                pool_policy=args.pool,
                starts_at=times.get("start"),
                deadline_at=times.get("deadline"),
            )
            print(
                f"round {rnd.code} open / 轮次已开启: scope {','.join(rnd.scope)}, "
                f"deadline {rnd.deadline_at.isoformat()}"
            )
            return 0
        rnd = Round.objects.filter(code=args.code).first()
        if rnd is None:
            return fail(f"unknown round / 轮次不存在: {args.code}")
        if args.action == "close":
            round_close(actor=None, rnd=rnd)
            print(f"round {rnd.code} closed / 轮次已结束")
            return 0
        from lianfang.screening.report import round_report_write

        report = round_report_write(rnd=rnd, out_dir=Path(args.out))
        print(json.dumps(report.summary, ensure_ascii=False))
        return 0
    except ScreeningError as exc:
        return fail(str(exc))


@needs_database
def cmd_device(args) -> int:
    """Issue an API token bound to one sampling site or one lab; the key is printed once."""
    from lianfang.accounts.models import User
    from lianfang.screening.models import Lab, Site
    from lianfang.screening.services import ScreeningError, device_token_issue

    user = User.objects.filter(username=args.username, is_active=True).first()
    if user is None:
        return fail(f"unknown user / 用户不存在: {args.username}")
    site = Site.objects.filter(code=args.site).first() if args.site else None
    lab = Lab.objects.filter(code=args.lab).first() if args.lab else None
    if (args.site and site is None) or (args.lab and lab is None):
        return fail(f"unknown site or lab / 采样点或检测机构不存在: {args.site or args.lab}")
    try:
        _, raw = device_token_issue(user=user, name=args.name or (args.site or args.lab), site=site, lab=lab)
    except ScreeningError as exc:
        return fail(str(exc))
    print(raw)
    return 0
