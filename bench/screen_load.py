"""The big screen under load: N wall screens polling its JSON for a minute against ``lianfang serve``.

    python bench/screen_load.py [--db sqlite | --db postgres://postgres@127.0.0.1:5432/lianfang_screenbench]
        [--screens 100] [--duration 60] [--poll 2] [--refresh 10] [--workers 2] [--persons 20000]

Set-up (not timed): a scratch database (``_common.prepare_database``), the synthetic city
(``population_load``) with a round open over the city and a problem per county, a commander with
the city's jurisdiction and a logged-in session. The server is ``lianfang serve --workers W``
(gunicorn, thread workers) in production mode, a subprocess sharing the database; its refresh
interval is ``--refresh`` seconds (``LIANFANG_SCREEN_REFRESH``).

Load: ``--screens`` threads, each a keep-alive connection polling ``/screen/data.json`` every
``--poll`` seconds (faster than a screen's own interval, to be harsh) for ``--duration`` seconds.

Measured: polls answered (200) and failed, client latency p50/p95/max, and the computations —
the stored snapshots of the commander's jurisdiction made during the run (one row per computed
interval: a computation claims its interval's row first). The claim: computations ≤ intervals
elapsed + 1. Baseline, in this process: the time of one computation of the same figures
(``compute``), i.e. what every poll would cost without the cache.
"""

from __future__ import annotations

import argparse
import http.client
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

from bench._common import Timer, prepare_database, report  # noqa: E402

HOST = "127.0.0.1"


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", default="sqlite")
    parser.add_argument("--screens", type=int, default=100)
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--poll", type=float, default=2.0, help="seconds between two polls of one screen")
    parser.add_argument("--refresh", type=int, default=10, help="the screen's refresh interval, seconds")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--persons", type=int, default=20000)
    args = parser.parse_args()

    scratch = Path(tempfile.mkdtemp(prefix="bench-screen-"))
    os.environ.update(
        LIANFANG_PRODUCTION="true",
        LIANFANG_SECRET_KEY="bench-screen-load-" + "x" * 40,
        LIANFANG_ALLOWED_HOSTS="127.0.0.1,localhost,testserver",
        LIANFANG_SECURE_COOKIES="false",
        LIANFANG_SSL_REDIRECT="false",
        LIANFANG_SCREEN_REFRESH=str(args.refresh),
    )
    os.environ["LIANFANG_DATA_DIR"] = str(scratch)
    db = prepare_database(args.db, "screen_load")
    from django.test import Client
    from django.utils import timezone

    from lianfang.accounts.models import User
    from lianfang.accounts.scoping import Actor
    from lianfang.accounts.services import user_create
    from lianfang.command.models import ScreenSnapshot
    from lianfang.command.selectors import screen as screen_mod
    from lianfang.command.services.problems import problem_file
    from lianfang.geo.models import Division, Level
    from lianfang.screening import services
    from lianfang.simulate.services import population_load

    population_load(persons=args.persons, seed=7)
    services.round_open(actor=None, code="BENCH-R", name="全市轮次", scope=["3505"], starts_at=timezone.now())
    for code in Division.objects.filter(level=Level.COUNTY).values_list("code", flat=True):
        problem_file(actor=None, title="bench", division_code=code)
    user = user_create(
        username="screen_bench", password="x" * 16, role="commander", codes=["3505"], display_name="b"
    )
    client = Client()
    client.force_login(User.objects.get(pk=user.pk))
    session = client.cookies["sessionid"].value
    actor = Actor.for_user(user)

    timer = Timer()
    with timer.phase("compute_once", baseline=True):
        screen_mod.compute(actor, timezone.now())

    port = _free_port()
    log = scratch / "server.log"
    lianfang = str(Path(sys.executable).parent / "lianfang")
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            [lianfang, "serve", "--host", HOST, "--port", str(port), "--workers", str(args.workers)],
            cwd=ROOT,
            stdout=out,
            stderr=out,
            env=os.environ.copy(),
            start_new_session=True,
        )
    try:
        deadline = time.time() + 90
        while True:
            try:
                conn = http.client.HTTPConnection(HOST, port, timeout=5)
                conn.request("GET", "/login/")
                conn.getresponse().read()
                break
            except OSError:
                if time.time() > deadline or proc.poll() is not None:
                    raise RuntimeError(f"the server did not start: see {log}") from None
                time.sleep(0.3)

        key = screen_mod._key(actor)
        before = set(ScreenSnapshot.objects.filter(key=key).values_list("bucket", flat=True))
        latencies: list[float] = []
        failures = [0]
        lock = threading.Lock()
        stop_at = time.time() + args.duration

        def screen(i: int) -> None:
            conn = http.client.HTTPConnection(HOST, port, timeout=30)
            time.sleep((i / args.screens) * args.poll)  # screens do not all start in the same millisecond
            while time.time() < stop_at:
                started = time.perf_counter()
                try:
                    conn.request("GET", "/screen/data.json", headers={"Cookie": f"sessionid={session}"})
                    response = conn.getresponse()
                    response.read()
                    ok = response.status == 200
                except (OSError, http.client.HTTPException):
                    ok = False
                    conn.close()
                    conn = http.client.HTTPConnection(HOST, port, timeout=30)
                took = time.perf_counter() - started
                with lock:
                    if ok:
                        latencies.append(took)
                    else:
                        failures[0] += 1
                time.sleep(max(0.0, args.poll - took))

        threads = [threading.Thread(target=screen, args=(i,)) for i in range(args.screens)]
        with timer.phase("load"):
            started = time.time()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            elapsed = time.time() - started
        made = (
            set(
                ScreenSnapshot.objects.filter(key=key, payload__isnull=False).values_list("bucket", flat=True)
            )
            - before
        )
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # the session this bench started for the server
        proc.wait(timeout=30)

    intervals = elapsed / args.refresh
    latencies.sort()
    p = lambda q: round(latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000, 1)  # noqa: E731
    print(
        f"  polls {len(latencies)} ok, {failures[0]} failed; computations {len(made)} over {intervals:.1f} intervals; "
        f"latency p50 {p(0.5)} ms p95 {p(0.95)} ms max {p(1.0)} ms",
        file=sys.stderr,
    )
    # Per poll: what the server spent computing (the computations' share) against a computation per poll.
    timer.phases["compute_per_poll"] = round(
        len(made) * timer.baseline["compute_once"] / max(1, len(latencies)), 6
    )
    report(
        "screen_load",
        args.screens,
        db,
        timer,
        {"compute_per_poll": "compute_once"},
        polls=len(latencies),
        failed=failures[0],
        computations=len(made),
        intervals=round(intervals, 1),
        latency_ms={
            "p50": p(0.5),
            "p95": p(0.95),
            "max": p(1.0),
            "mean": round(statistics.mean(latencies) * 1000, 1) if latencies else None,
        },
        refresh_seconds=args.refresh,
        workers=args.workers,
    )
    assert len(made) <= intervals + 1, f"{len(made)} computations over {intervals:.1f} intervals"


if __name__ == "__main__":
    main()
