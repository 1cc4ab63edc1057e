"""The soak's 2-minute version (bench/soak.py; the long runs are in docs/performance.md): mixed load
on a database of its own, then every acknowledged scan stored exactly once, every import balanced,
the database's own checker clean, no 5xx but 503, and the servers' memory reported."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def test_two_minutes_of_mixed_load_lose_and_double_nothing():
    db = "sqlite"
    if connection.vendor == "postgresql":
        db = os.environ["LIANFANG_DATABASE_URL"]  # the soak makes its own <name>_soak beside it
    done = subprocess.run(
        [
            sys.executable, str(ROOT / "bench" / "soak.py"), "--minutes", "2", "--db", db,
            "--persons", "5000", "--surge-every", "50", "--surge-devices", "20",
            "--upload-every", "30", "--upload-size", "500", "--cli-every", "30",
        ],
        capture_output=True, text=True, timeout=1200, cwd=ROOT,
    )  # fmt: skip
    assert done.stdout.strip(), done.stderr[-5000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert done.returncode == 0 and not out["failures"], (out["failures"], done.stderr[-3000:])
    phases = out["phases"]
    assert phases["exactly_once"] and phases["integrity"] == "ok" and phases["imports_balanced"]
    assert (
        phases["tubes_acknowledged"] > 100 and phases["samples_stored"] == 10 * phases["tubes_acknowledged"]
    )
    assert phases["surges"] >= 2 and phases["access_log_5xx_not_503"] == 0
    answers = phases["answers"]
    for kind, ok in (
        ("device", "200"),
        ("surge", "200"),
        ("page", "200"),
        ("export", "200"),
        ("upload", "302"),
    ):
        assert answers[kind].get(ok, 0) > 0, (kind, answers)
        assert set(answers[kind]) <= {ok, "503"}, (kind, answers)
    assert answers["cli"].get("0", 0) >= 1 and set(answers["cli"]) <= {"0", "75"}
    growth = out["memory_mb"]["growth"]
    assert growth and all(mb < 150 for name, mb in growth.items() if name.startswith("gunicorn")), growth
