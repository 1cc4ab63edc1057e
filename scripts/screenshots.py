"""Retake the README's screenshots from a fresh demo city (Debian's Chromium, CJK font installed).

    .venv/bin/python scripts/screenshots.py [--persons 100000]

Prepares the demo in a temporary data folder, serves it on a free port, signs in as the demo
users and writes docs/screenshot-home.png (the Jinjiang county office's home page),
docs/screenshot-round.png (the city commander's view of the round in progress) and, on a
390 px phone, the grid worker's re-check tasks and untested list
(docs/screenshot-tasks-phone.png, docs/screenshot-untested-phone.png).
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
DEMO_TOWN = "350582001"  # the demo grid worker's town (lianfang.simulate.services.DEMO_ACCOUNTS)
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
    desk, phone = {"width": 1360, "height": 900}, {"width": 390, "height": 844}
    # (user, page, file, viewport, a link to follow from the page first)
    shots = [
        ("jinjiang", "/", "screenshot-home.png", desk, None),
        ("commander", "/rounds/QZ-R3/", "screenshot-round.png", desk, None),
        ("grid", "/rounds/QZ-R3/tasks/", "screenshot-tasks-phone.png", phone, None),
        (
            "grid",
            f"/rounds/QZ-R3/area/{DEMO_TOWN}/",
            "screenshot-untested-phone.png",
            phone,
            "#coverage-table tbody a",
        ),
    ]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        for user, path, name, viewport, follow in shots:
            page = browser.new_page(viewport=viewport, locale="zh-CN", is_mobile=viewport is phone)
            page.goto(f"{base}/login/")
            page.fill("input[name=username]", user)
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_load_state("networkidle")
            page.goto(base + path)
            page.wait_for_load_state("networkidle")
            if follow:
                page.click(follow)
                page.wait_for_load_state("networkidle")
                page.locator("#untested").scroll_into_view_if_needed()
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
