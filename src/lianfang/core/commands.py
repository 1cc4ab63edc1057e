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


def needs_database(command):
    """Exit 3 with a clear message when there is no usable database (not a traceback)."""

    @wraps(command)
    def wrapper(args) -> int:
        from django.db.utils import OperationalError, ProgrammingError

        try:
            return command(args)
        except (OperationalError, ProgrammingError) as exc:
            return fail(
                f"no usable database; run `lianfang init` first / 数据库不可用，请先运行 lianfang init: {exc}",
                3,
            )

    return wrapper
