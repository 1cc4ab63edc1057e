"""The ``lianfang`` command: demo, init, serve, worker, imports; anything else goes to Django."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lianfang.config.settings")
    import django

    django.setup()


def _init(verbose: bool = True) -> None:
    from django.conf import settings
    from django.core.management import call_command

    from lianfang.geo.services import divisions_load_shipped

    if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        Path(settings.DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    call_command("migrate", interactive=False, verbosity=0)
    summary = divisions_load_shipped()
    if verbose:
        print(
            f"database ready; divisions: {summary.accepted} loaded, {summary.duplicate} already there"
            f" / 数据库就绪，区划 {summary.accepted} 条新载入"
        )


def cmd_init(args) -> int:
    _setup()
    _init()
    return 0


def _print_summary(summary, as_json: bool) -> None:
    if as_json:
        print(json.dumps(summary.as_dict(), ensure_ascii=False))
        return
    from lianfang.imports.summary import reason_text

    print(
        f"read {summary.read}  accepted {summary.accepted}  duplicate {summary.duplicate}  "
        f"held {summary.held}  rejected {summary.rejected}"
    )
    for reason, count in sorted(summary.reasons.items()):
        zh, en = reason_text(reason)
        print(f"  {reason}: {count}  ({zh} / {en})")


def cmd_import(args) -> int:
    _setup()
    from django.db.utils import OperationalError, ProgrammingError

    from lianfang.imports.reader import ImportFileError

    try:
        if args.kind != "divisions":
            from lianfang.imports.services import import_file

            if len(args.files) != 1:
                print(f"import {args.kind} takes one file / 一次导入一个文件", file=sys.stderr)
                return 2
            summary = import_file(kind=args.kind, path=args.files[0], actor=None, rejects_path=args.rejects)
        else:
            from lianfang.geo.services import divisions_import
            from lianfang.imports.reader import write_rejects

            rejects: list = []
            summary = divisions_import(paths=args.files, rejects=rejects)
            if args.rejects:
                import pyarrow as pa

                table = (
                    pa.Table.from_pylist([r for r, _ in rejects])
                    if rejects
                    else pa.table({"code": [], "name": []})
                )
                write_rejects(args.rejects, table, [reason for _, reason in rejects])
    except ImportFileError as exc:
        print(f"cannot import {args.files}: {exc}", file=sys.stderr)
        return 2
    except FileNotFoundError as exc:
        print(f"file not found / 文件不存在: {exc.filename}", file=sys.stderr)
        return 2
    except (OperationalError, ProgrammingError) as exc:
        print(
            f"no usable database; run `lianfang init` first / 数据库不可用，请先运行 lianfang init: {exc}",
            file=sys.stderr,
        )
        return 3
    _print_summary(summary, args.json)
    return 0


def cmd_round(args) -> int:
    _setup()
    from django.db.utils import OperationalError, ProgrammingError

    from lianfang.imports.times import parse_time
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
                        print(f"--{name}: not a time / 不是有效时间: {text}", file=sys.stderr)
                        return 2
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
            print(f"unknown round / 轮次不存在: {args.code}", file=sys.stderr)
            return 2
        if args.action == "close":
            round_close(actor=None, rnd=rnd)
            print(f"round {rnd.code} closed / 轮次已结束")
            return 0
        from lianfang.screening.report import round_report_write

        report = round_report_write(rnd=rnd, out_dir=Path(args.out))
        print(json.dumps(report.summary, ensure_ascii=False))
        return 0
    except ScreeningError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except (OperationalError, ProgrammingError) as exc:
        print(
            f"no usable database; run `lianfang init` first / 数据库不可用，请先运行 lianfang init: {exc}",
            file=sys.stderr,
        )
        return 3


def cmd_device(args) -> int:
    """Issue an API token bound to one sampling site or one lab; the key is printed once."""
    _setup()
    from lianfang.accounts.models import User
    from lianfang.screening.models import Lab, Site
    from lianfang.screening.services import ScreeningError, device_token_issue

    user = User.objects.filter(username=args.username, is_active=True).first()
    if user is None:
        print(f"unknown user / 用户不存在: {args.username}", file=sys.stderr)
        return 2
    site = Site.objects.filter(code=args.site).first() if args.site else None
    lab = Lab.objects.filter(code=args.lab).first() if args.lab else None
    if (args.site and site is None) or (args.lab and lab is None):
        print(f"unknown site or lab / 采样点或检测机构不存在: {args.site or args.lab}", file=sys.stderr)
        return 2
    try:
        _, raw = device_token_issue(user=user, name=args.name or (args.site or args.lab), site=site, lab=lab)
    except ScreeningError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    print(raw)
    return 0


def cmd_simulate(args) -> int:
    _setup()
    from lianfang.simulate.services import population_load

    started = time.perf_counter()
    count = population_load(persons=args.persons, seed=args.seed, replace=args.replace)
    print(f"{count} people generated and loaded in {time.perf_counter() - started:.1f} s")
    return 0


def cmd_demo(args) -> int:
    _setup()
    from lianfang.simulate.services import demo_prepare

    started = time.perf_counter()
    _init(verbose=False)
    logins = demo_prepare(persons=args.persons, seed=args.seed, password=args.password)
    url = f"http://{args.host}:{args.port}/"
    print(f"\n联防 Lianfang demo ready in {time.perf_counter() - started:.0f} s — {url}\n")
    print(f"{'username':<22} {'password':<16} role / jurisdiction")
    for login in logins:
        print(f"{login['username']:<22} {args.password:<16} {login['role']} / {login['jurisdiction']}")
    print()
    sys.stdout.flush()
    if args.no_serve:
        return 0
    return _serve(args.host, args.port, args.workers, args.threads)


def _serve(host: str, port: int, workers: int, threads: int = 8) -> int:
    from django.core.management import call_command

    call_command("collectstatic", interactive=False, verbosity=0)
    os.execvp(
        sys.executable,
        [
            sys.executable,
            "-m",
            "gunicorn",
            "lianfang.config.wsgi:application",
            "--bind",
            f"{host}:{port}",
            "--workers",
            str(workers),
            # Thread workers accept a surge and shed it with a quick 503 (config/load.py); the
            # Django work itself runs LIANFANG_ACTIVE_REQUESTS at a time per process. Accepted
            # connections are bounded too, so nothing waits unseen in gunicorn's own queue.
            # --threads 1 is gunicorn's plain sync worker.
            *(
                ["--worker-class", "gthread", "--threads", str(threads), "--worker-connections", str(threads)]
                if threads > 1
                else ["--worker-class", "sync"]
            ),
            "--timeout",
            "120",
            "--access-logfile",
            "-",
        ],
    )
    return 0  # not reached


def cmd_serve(args) -> int:
    _setup()
    return _serve(args.host, args.port, args.workers, args.threads)


def cmd_worker(args) -> int:
    _setup()
    from django.core.management import call_command

    call_command("db_worker", *args.rest)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lianfang", description="联防 Lianfang — epidemic response command platform"
    )
    sub = parser.add_subparsers(dest="command")

    p = sub.add_parser("init", help="create or upgrade the database and load the shipped divisions")
    p.set_defaults(func=cmd_init)

    p = sub.add_parser("demo", help="prepare a synthetic Quanzhou and serve it")
    p.add_argument("--persons", type=int, default=100_000)
    p.add_argument("--seed", type=int, default=2022)
    p.add_argument("--password", default="lianfang-demo")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--threads", type=int, default=8, help="threads per worker (1: plain sync workers)")
    p.add_argument("--no-serve", action="store_true", help="prepare only")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("serve", help="serve the site with gunicorn")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--threads", type=int, default=8, help="threads per worker (1: plain sync workers)")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("worker", help="run background tasks (imports)")
    p.add_argument("rest", nargs=argparse.REMAINDER)
    p.set_defaults(func=cmd_worker)

    p = sub.add_parser("simulate", help="generate and load a synthetic population")
    p.add_argument("--persons", type=int, default=100_000)
    p.add_argument("--seed", type=int, default=2022)
    p.add_argument("--replace", action="store_true", help="delete the registry first")
    p.set_defaults(func=cmd_simulate)

    p = sub.add_parser("round", help="screening rounds: open, close, report")
    rs = p.add_subparsers(dest="action", required=True)
    o = rs.add_parser("open", help="open a round")
    o.add_argument("code")
    o.add_argument("--name", default="")
    o.add_argument(
        "--scope", action="append", required=True, help="division codes, comma-separated (repeatable)"
    )
    o.add_argument(
        "--pool", default="10", choices=["single", "household", "5", "10", "20"], help="pool policy"
    )
    o.add_argument("--start", help="start time (default now)")
    o.add_argument("--deadline", help="deadline (default start + 24 h)")
    o.set_defaults(func=cmd_round)
    c = rs.add_parser("close", help="close a round (later samples are refused)")
    c.add_argument("code")
    c.set_defaults(func=cmd_round)
    r = rs.add_parser("report", help="write the round report files (FORMATS.md)")
    r.add_argument("code")
    r.add_argument("--out", required=True)
    r.set_defaults(func=cmd_round)

    p = sub.add_parser("device", help="issue a device token bound to a sampling site or a lab")
    p.add_argument("action", choices=["issue"])
    p.add_argument("username")
    group = p.add_mutually_exclusive_group(required=True)
    group.add_argument("--site")
    group.add_argument("--lab")
    p.add_argument("--name", default="")
    p.set_defaults(func=cmd_device)

    p = sub.add_parser("import", help="import a file: persons, sites, labs, samples, results or divisions")
    p.add_argument("kind", choices=["persons", "sites", "labs", "samples", "results", "divisions"])
    p.add_argument("files", nargs="+")
    p.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    p.add_argument("--rejects", help="write rejected rows with a reason column to this CSV")
    p.set_defaults(func=cmd_import)
    return parser


KNOWN = {"init", "demo", "serve", "worker", "simulate", "import", "round", "device", "-h", "--help"}


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] not in KNOWN:
        _setup()
        from django.core.management import execute_from_command_line

        execute_from_command_line(["lianfang", *argv])
        return
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        sys.exit(0)
    sys.exit(args.func(args))
