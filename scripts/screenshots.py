"""Retake the README's screenshots from a fresh demo city (Debian's Chromium, CJK font installed).

    .venv/bin/python scripts/screenshots.py [--persons 100000]

Prepares the demo in a temporary data folder, serves it on a free port, signs in as the demo
users and writes docs/screenshot-home.png (the Jinjiang county office's home page) and
docs/screenshot-round.png (the city commander's view of the round in progress).
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LIANFANG = [sys.executable, "-m", "lianfang"]
PASSWORD = "lianfang-demo"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(port: int, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"the demo server did not answer on port {port}")


def shoot(port: int) -> None:
    from playwright.sync_api import sync_playwright

    base = f"http://127.0.0.1:{port}"
    shots = [
        ("jinjiang", "/", "screenshot-home.png"),
        ("commander", "/rounds/QZ-R3/", "screenshot-round.png"),
    ]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        for user, path, name in shots:
            page = browser.new_page(viewport={"width": 1360, "height": 900}, locale="zh-CN")
            page.goto(f"{base}/login/")
            page.fill("input[name=username]", user)
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_load_state("networkidle")
            page.goto(base + path)
            page.wait_for_load_state("networkidle")
            page.wait_for_timeout(800)  # the charts' first animation
            page.screenshot(path=str(ROOT / "docs" / name), full_page=False)
            print(f"docs/{name}")
            page.close()
        browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=100_000, help="synthetic people in the demo city")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="lianfang-shots-") as folder:
        env = {**os.environ, "LIANFANG_DATA_DIR": folder}
        env.pop("LIANFANG_DATABASE_URL", None)
        subprocess.run([*LIANFANG, "demo", "--no-serve", "--persons", str(args.persons)], env=env, check=True)
        port = free_port()
        server = subprocess.Popen([*LIANFANG, "serve", "--port", str(port), "--workers", "1"], env=env)
        try:
            wait_for(port)
            shoot(port)
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
