"""lianfang.protocol is pure Python: no Django, nothing else of lianfang, only the standard library."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import lianfang.protocol

PACKAGE_DIR = Path(lianfang.protocol.__file__).parent
SRC = PACKAGE_DIR.parents[1]

PROBE = """
import importlib, pkgutil, sys
import lianfang.protocol as package
names = [m.name for m in pkgutil.walk_packages(package.__path__, package.__name__ + ".")]
for name in names:
    importlib.import_module(name)
print("imported:", *sorted(names))
for name in sorted(sys.modules):
    if name == "django" or name.startswith("django.") or (
        name.startswith("lianfang.") and not name.startswith("lianfang.protocol")
    ):
        print("forbidden:", name)
"""


def test_importing_every_module_loads_no_django():
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(SRC), os.environ.get("PYTHONPATH")])),
    }
    done = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, env=env, check=False, timeout=60
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "lianfang.protocol.plans" in lines[0].split()
    assert len(lines[0].split()) - 1 == len(list(PACKAGE_DIR.glob("*.py"))) - 1  # every module but __init__
    assert [line for line in lines if line.startswith("forbidden:")] == []


def test_modules_import_only_the_standard_library_and_themselves():
    for path in PACKAGE_DIR.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                assert top in sys.stdlib_module_names, f"{path.name} imports {name}"
