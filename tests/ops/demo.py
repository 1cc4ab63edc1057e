"""`lianfang demo` (what `make demo` runs) started as a user starts it: the real command in its own
process, on a free port of the test's choosing, with its own data folder (SQLite)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(data: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIANFANG_")}
    env.update(
        LIANFANG_DATA_DIR=str(data),
        PYTHONPATH=os.pathsep.join(filter(None, [str(SRC), os.environ.get("PYTHONPATH", "")])),
    )
    return env


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def serve_demo(tmp_path_factory):
    """`lianfang demo` (what `make demo` runs), serving on a free port until the fixture ends (a
    module's: ``yield from serve_demo(tmp_path_factory)``)."""
    data = tmp_path_factory.mktemp("demo")
    port = _free_port()
    log = open(data / "demo.log", "w+")  # noqa: SIM115 - closed at teardown
    command = [sys.executable, "-m", "lianfang", "demo", "--persons", "2000", "--port", str(port)]
    proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=_env(data))
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 240
    while True:
        assert proc.poll() is None, (data / "demo.log").read_text()
        assert time.monotonic() < deadline, "the demo was not serving within 4 minutes"
        try:
            with urllib.request.urlopen(f"{base}/login/", timeout=5) as answer:
                if answer.status == 200:
                    break
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(1)
    yield {"proc": proc, "port": port, "base": base, "data": data, "log": data / "demo.log"}
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    log.close()
