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
    # serve(host, port, workers, threads, *, worker=False, retry=None) -> int: runs gunicorn (does
    # not return), with a background-task worker beside it when asked; 2 when the port is in use
    serve: object


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
    if summary.notes:
        print("  ".join(f"{name} {value}" for name, value in summary.notes.items()))


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


class PortInUse(Exception):
    """The address a server was asked to listen on is taken (another server, an earlier demo)."""


def port_free(host: str, port: int) -> bool:
    """Whether a server could listen on ``host:port`` now (bound with SO_REUSEADDR, as gunicorn
    does, so a port merely in TIME_WAIT counts as free)."""
    import socket

    family = socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host.strip("[]"), port))
        except OSError:
            return False
    return True


def port_in_use_message(host: str, port: int, retry: str) -> str:
    """What a user is told when ``port`` is taken: ``retry`` is the command to run instead, with
    ``{port}`` for the next free port (``make demo ARGS="--port {port}"``)."""
    other = next((p for p in range(port + 1, min(port + 100, 65536)) if port_free(host, p)), port + 1)
    command = retry.format(port=other)
    return f"port {port} is in use; run `{command}`\n端口 {port} 已被占用；请运行 `{command}`"


def require_free_port(host: str, port: int, retry: str) -> None:
    """Raise :class:`PortInUse` (its message says what to run instead) when ``port`` is taken."""
    if not port_free(host, port):
        raise PortInUse(port_in_use_message(host, port, retry))


def subcommand_group(sub, name: str, *, help: str):
    """The subcommands of ``lianfang NAME`` that several apps fill (``trace plans`` from tracing,
    ``trace companions`` from companions): made by the first app that asks, found by the next, so
    that no app names another and argparse never sees the group declared twice."""
    import argparse

    parser = sub.choices.get(name)
    if parser is None:
        parser = sub.add_parser(name, help=help)
        return parser.add_subparsers(dest=f"{name}_action", metavar="ACTION", required=True)
    found = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not found:
        raise RuntimeError(f"`lianfang {name}` is a command of its own, not a group")
    return found[0]
