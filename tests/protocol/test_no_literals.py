"""The protocol is data: no clock, duration, pool size or exempt age written as a literal outside
``lianfang/protocol``. A new ``timedelta(hours=N)`` anywhere else fails here until it is either
read from the edition in force or listed below with the reason it is not a protocol value."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import lianfang

SRC = Path(lianfang.__file__).parent

# (module, unit, value): literals that are not rules of the response.
ALLOWED = {
    ("screening/rules.py", "hours", 8): "Asia/Shanghai's UTC offset (no daylight saving)",
    ("analytics/screening.py", "hours", 8): "Asia/Shanghai's UTC offset",
    ("screening/views/common.py", "hours", 8): "Asia/Shanghai's UTC offset for the chart's time axis",
    ("screening/views/common.py", "hours", 1): "the progress chart's step",
    ("simulate/screening.py", "hours", 3): "the synthetic lab's delay in the demo",
    ("command/services/briefing.py", "hours", 24): "the briefing's window and a calendar day (FORMATS.md)",
    ("imports/services.py", "days", 1): "how long a silent background worker's heartbeat row is kept",
    ("web/audit.py", "days", 1): "the end of the audit filter's last day (the date range is inclusive)",
}
UNITS = {"weeks", "days", "hours"}
# Protocol values that have been written as text in SQL or code before.
TEXT = [
    re.compile(r"\(\s*1\s*,\s*5\s*,\s*10\s*,\s*20\s*\)"),  # pool sizes
    re.compile(r"\{\s*1\s*,\s*5\s*,\s*10\s*,\s*20\s*\}"),
    re.compile(r"\.year\s*-\s*2\b"),  # the exempt age
    re.compile(r"LIANFANG_(RECHECK|TURNAROUND)"),  # the old settings
]


def _modules():
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC).as_posix()
        if rel.startswith("protocol/") or "/migrations/" in rel:
            continue
        yield rel, path.read_text(encoding="utf-8")


def _literal_durations(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            for kw in node.keywords:
                if (
                    kw.arg in UNITS
                    and isinstance(kw.value, ast.Constant)
                    and isinstance(kw.value.value, int | float)
                ):
                    yield node.lineno, kw.arg, kw.value.value


def test_no_protocol_durations_outside_protocol():
    found = []
    for rel, text in _modules():
        for line, unit, value in _literal_durations(ast.parse(text)):
            if (rel, unit, value) not in ALLOWED:
                found.append(f"{rel}:{line} {unit}={value}")
    assert not found, "durations written as literals (read them from the protocol edition): " + ", ".join(
        found
    )


def test_no_protocol_values_as_text_outside_protocol():
    found = [
        f"{rel}: {pattern.pattern}" for rel, text in _modules() for pattern in TEXT if pattern.search(text)
    ]
    assert not found, found


def test_the_allow_list_is_still_needed():
    """An entry that no longer matches anything is dead weight: remove it."""
    seen = {
        (rel, unit, value)
        for rel, text in _modules()
        for _, unit, value in _literal_durations(ast.parse(text))
    }
    assert set(ALLOWED) <= seen, set(ALLOWED) - seen


def test_the_scan_finds_a_literal_clock(tmp_path):
    tree = ast.parse("import datetime as dt\ndeadline = now + dt.timedelta(hours=24)\n")
    assert list(_literal_durations(tree)) == [(2, "hours", 24)]


def test_no_protocol_durations_in_page_text():
    """Pages say the edition's numbers ("未满{{ years }}岁"), never a number of their own."""
    pattern = re.compile(r"[0-9]+ ?(岁|小时|天|日内)")
    found = [
        f"{path.relative_to(SRC)}: {m.group(0)}"
        for path in sorted(SRC.rglob("templates/**/*.html"))
        for m in pattern.finditer(path.read_text(encoding="utf-8"))
    ]
    assert not found, found
