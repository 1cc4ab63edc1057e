"""Plumbing for the ``lianfang`` command's subcommands, whichever app declares them."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from functools import wraps


@dataclass(frozen=True)
class CliTools:
    """What the shared command line lends an app's subcommands (they never import ``cli``)."""

    init: object  # init(verbose: bool) -> None: migrate and load the shipped divisions
    serve: object  # serve(host, port, workers, threads) -> int: runs gunicorn (does not return)


def print_summary(summary, as_json: bool) -> None:
    """An import summary as FORMATS.md's one JSON object, or as text with every reason explained."""
    if as_json:
        print(json.dumps(summary.as_dict(), ensure_ascii=False))
        return
    from lianfang.core.summary import reason_text

    print(
        f"read {summary.read}  accepted {summary.accepted}  duplicate {summary.duplicate}  "
        f"held {summary.held}  rejected {summary.rejected}"
    )
    for reason, count in sorted(summary.reasons.items()):
        zh, en = reason_text(reason)
        print(f"  {reason}: {count}  ({zh} / {en})")


def fail(message: str, status: int = 2) -> int:
    print(message, file=sys.stderr)
    return status


# Exit status of a command that met a busy or unreachable database: try again (sysexits EX_TEMPFAIL).
EXIT_RETRY = 75


def needs_database(command):
    """A clear message instead of a traceback when the database cannot serve: busy or unreachable
    (exit 75: run it again), full or damaged (exit 3: call the operator), or not set up (exit 3:
    run ``lianfang init``)."""

    @wraps(command)
    def wrapper(args) -> int:
        from django.db.utils import OperationalError, ProgrammingError

        from lianfang.core.db import BUSY, DAMAGED, DOWN, FULL, unavailable

        try:
            return command(args)
        except (OperationalError, ProgrammingError) as exc:
            kind = unavailable(exc)
            if kind in (BUSY, DOWN):
                return fail(
                    f"database busy or unreachable, retry / 数据库繁忙或不可达，请重试: {exc}", EXIT_RETRY
                )
            if kind == FULL:
                return fail(
                    f"database disk full; nothing was changed / 数据库磁盘已满，未做任何更改: {exc}", 3
                )
            if kind == DAMAGED:
                return fail(f"database I/O error; call the operator / 数据库读写出错，请联系运维: {exc}", 3)
            return fail(
                f"no usable database; run `lianfang init` first / 数据库不可用，请先运行 lianfang init: {exc}",
                3,
            )

    return wrapper


def command_group(sub, name: str, help: str):
    """The subcommands of ``lianfang NAME``, shared by every app that adds to it: the first call
    makes the group, later ones (another app's plugin) get the same subparsers to add to. E.g.
    tracing adds ``trace plans`` and the companions work ``trace companions``."""
    parser = sub.choices.get(name)
    if parser is None:
        parser = sub.add_parser(name, help=help)
        parser.set_defaults(func=None)
        parser._lianfang_group = parser.add_subparsers(dest=f"{name}_action", metavar="ACTION")
    return parser._lianfang_group
