"""The simulators run without Django: benchmarks and analytics use them before (or without) settings."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


@pytest.mark.parametrize(
    "code",
    [
        "import lianfang.simulate.generator as g; g.generate_population(10)",
        "import tempfile, pathlib, lianfang.simulate.generator as g, lianfang.simulate.screening_files as f; "
        "f.write_files(g.generate_population(100), pathlib.Path(tempfile.mkdtemp()), 1)",
    ],
)
def test_imports_no_django(code):
    check = "; import sys; bad = [m for m in sys.modules if m == 'django' or m.startswith('django.')]; assert not bad, bad"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    subprocess.run([sys.executable, "-c", code + check], check=True, env=env)
