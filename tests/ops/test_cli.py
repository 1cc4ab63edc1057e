"""The command line describes itself, and a busy port is said before anything starts."""

from __future__ import annotations

import argparse
import socket

import pytest

from lianfang.cli import build_parser
from lianfang.core.commands import port_free


def _walk(parser: argparse.ArgumentParser, path: str):
    """Every (command path, parser) under ``parser``, subcommands of subcommands included."""
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _walk(sub, f"{path} {name}")


def test_every_subcommand_and_option_has_help():
    parser = build_parser()
    missing = []
    commands = 0
    for path, p in _walk(parser, "lianfang"):
        commands += 1
        for action in p._actions:
            if isinstance(action, argparse._HelpAction):
                continue
            if isinstance(action, argparse._SubParsersAction):
                described = {c.dest for c in action._choices_actions if c.help}
                missing += [f"{path} {name}" for name in action.choices if name not in described]
                continue
            if not action.help or action.help == argparse.SUPPRESS:
                missing.append(f"{path} {'/'.join(action.option_strings) or action.dest}")
    assert commands > 10, "the walk found the subcommands"
    assert not missing, f"options or subcommands without help: {missing}"


def test_the_walker_sees_an_option_without_help():
    """The test above fails on a bare option (it is not vacuous)."""
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    sub.choices["init"].add_argument("--bare")
    bare = [a for _path, p in _walk(parser, "lianfang") for a in p._actions if "--bare" in a.option_strings]
    assert bare and not bare[0].help


def test_help_of_every_subcommand_prints(capsys):
    parser = build_parser()
    for path, p in _walk(parser, "lianfang"):
        p.print_help()
        out = capsys.readouterr().out
        assert out.startswith("usage:"), path


@pytest.fixture
def busy_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield s.getsockname()[1]


def test_port_free_tells_a_listening_port(busy_port):
    assert not port_free("127.0.0.1", busy_port)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        free = s.getsockname()[1]
    assert port_free("127.0.0.1", free)


def test_demo_on_a_busy_port_says_so_before_preparing_anything(busy_port, capsys, monkeypatch):
    def must_not_run(**kwargs):
        raise AssertionError("the demo prepared its city although the port is taken")

    monkeypatch.setattr("lianfang.simulate.services.demo_prepare", must_not_run)
    args = build_parser().parse_args(["demo", "--port", str(busy_port)])
    status = args.func(args)
    out, err = capsys.readouterr()
    assert status != 0
    assert f'port {busy_port} is in use; run `make demo ARGS="--port ' in err
    assert f"端口 {busy_port} 已被占用" in err
    assert "ready" not in out + err


def test_serve_on_a_busy_port_says_so(busy_port, capsys, monkeypatch):
    monkeypatch.setattr("os.execvp", lambda *a: pytest.fail("gunicorn started on a taken port"))
    args = build_parser().parse_args(["serve", "--port", str(busy_port)])
    assert args.func(args) != 0
    assert f"port {busy_port} is in use; run `lianfang serve --port" in capsys.readouterr().err
