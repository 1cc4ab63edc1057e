"""`make demo` as a user runs it: the real command in its own process, on a free port, with its own
data folder. An upload reaches 完成 by itself (a worker runs beside the server and ends with it),
a second demo on the same port says so and exits non-zero without "ready", and a missing page is
the product's Chinese 404, not Django's debug page."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.ops.demo import _alive, _children, _env, serve_demo

pytestmark = [pytest.mark.slow]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    yield from serve_demo(tmp_path_factory)


def test_second_demo_on_the_same_port_says_busy_without_ready(demo):
    assert "ready" in demo["log"].read_text()
    second = subprocess.run(
        [sys.executable, "-m", "lianfang", "demo", "--persons", "2000", "--port", str(demo["port"])],
        capture_output=True,
        text=True,
        env=_env(demo["data"]),
        timeout=120,
    )
    assert second.returncode != 0
    assert f'port {demo["port"]} is in use; run `make demo ARGS="--port ' in second.stderr
    assert "ready" not in second.stdout + second.stderr


def test_a_missing_page_is_the_products_404_not_the_debug_page(demo):
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(f"{demo['base']}/no-such-page/", timeout=10)
    body = caught.value.read().decode()
    assert caught.value.code == 404
    assert "页面不存在" in body and "返回首页" in body
    assert "URLconf" not in body and "DEBUG = True" not in body


def test_the_worker_ends_with_the_server(demo):
    """Last in the module: stops the demo and finds no worker left behind."""
    proc = demo["proc"]
    workers = [pid for pid in _children(proc.pid) if b"worker" in Path(f"/proc/{pid}/cmdline").read_bytes()]
    assert workers, "the demo started a background worker beside the server"
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=60)
    deadline = time.monotonic() + 30
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not any(_alive(pid) for pid in workers), "the worker outlived the server"
