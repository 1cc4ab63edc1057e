"""Leak probe: does a server worker's memory grow per request when the data does not?

    python bench/leak.py [--db sqlite | --db postgres://postgres@127.0.0.1:5432/lianfang]
        [--requests 20000] [--clients 4] [--persons 20000] [--malloc-arena-max N]

The soak (``bench/soak.py``) saw the gunicorn workers grow 13–64 MB in 10 minutes, but its data
grows all the while (a grid upload of 2,000 people a minute, every one of them on the town's
untested list, which the commanders export in a loop): a worker that builds a bigger export holds
a higher high-water mark, leak or not. This probe keeps the data still and counts requests:

* one installation in subprocesses (``bench/_stack.py``), ``lianfang serve`` with **one** gthread
  worker (8 threads), so there is one process to watch;
* ``--clients`` threads each repeat the soak's requests in turn: a device posting one of 100
  tubes (stored once, then answered as duplicates: the data stays the same), the round page, the
  county page and the town's untested export;
* the worker's RSS is read after a warm-up and then after every tenth of ``--requests``.

The figure that answers the question is the **slope over the second half** (MB per 1,000
requests, least squares): a leak keeps a slope; warm-up and allocator high-water marks flatten.
Baseline: the login page, the same number of requests from the same clients on a fresh worker
(the server is restarted between the two), so its slope is what serving alone costs.
``--malloc-arena-max`` sets glibc's ``MALLOC_ARENA_MAX`` for the server (one arena per thread,
up to 8 per core, is glibc's default: the usual cause of RSS growth in threaded Python servers).
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from _stack import Device, rss_mb, scratch  # noqa: E402
from soak import COMMUNITY, COUNTY, POOL, Browser, now_text, person_id  # noqa: E402

TUBES = 100
STEPS = 10


def slope(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of (x, y)."""
    n = len(points)
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    var = sum((x - mx) ** 2 for x, _ in points)
    return sum((x - mx) * (y - my) for x, y in points) / var if var else 0.0


def drive(port: int, token: str, clients: int, requests: int, mixed: bool, ids: list[str]):
    """``requests`` requests from ``clients`` threads; returns (seconds, statuses, RSS series)."""
    lock = threading.Lock()
    done = [0]
    statuses: dict[str, int] = {}
    step = requests // STEPS
    go = threading.Event()

    def worker_rss() -> float:
        return rss_mb(server_pid[0]) or 0.0

    def one(c: int) -> None:
        browser = Browser(port, f"commander{c % 2}")
        if mixed:
            browser.login()
        device = Device(port, token, timeout=60)
        paths = ["/rounds/R1/", f"/rounds/R1/area/{COUNTY}/", f"/rounds/R1/area/{COMMUNITY[:9]}/untested.csv"]
        i = 0
        go.wait()
        while True:
            with lock:
                if done[0] >= requests:
                    return
                done[0] += 1
            if not mixed:
                status = browser.get("/login/")[0]
                kind = "login"
            elif i % 4 == 0:
                n = (c * 997 + i) % TUBES
                body = {
                    "round_code": "R1",
                    "tube_barcode": f"LEAK-{n:03d}",
                    "pool_size": POOL,
                    "members": [
                        {"id_number": ids[n * POOL + k], "collected_at": now_text()} for k in range(POOL)
                    ],
                }
                status = device.post_once("/api/v1/screening/tubes", body)[0]
                kind = "device"
            else:
                status = browser.get(paths[i % 4 - 1])[0]
                kind = ("round", "county", "export")[i % 4 - 1]
            i += 1
            with lock:
                key = f"{kind} {status}"
                statuses[key] = statuses.get(key, 0) + 1

    threads = [threading.Thread(target=one, args=(c,)) for c in range(clients)]
    for t in threads:
        t.start()
    series = [(0, worker_rss())]
    started = time.perf_counter()
    go.set()
    mark = step
    while any(t.is_alive() for t in threads):
        time.sleep(0.05)
        with lock:
            count = done[0]
        if count >= mark:
            series.append((count, worker_rss()))
            mark += step
    for t in threads:
        t.join()
    took = time.perf_counter() - started
    if len(series) <= STEPS:
        series.append((requests, worker_rss()))
    return took, statuses, series


server_pid = [0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", default="sqlite", help="'sqlite' or a PostgreSQL URL")
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--persons", type=int, default=20_000)
    parser.add_argument("--malloc-arena-max", type=int, default=None)
    args = parser.parse_args()

    stack = scratch(args.db, "leak")
    folder, url = stack.folder, stack.db_url
    if args.malloc_arena_max:
        stack.env["MALLOC_ARENA_MAX"] = str(args.malloc_arena_max)
    ids = [person_id(COUNTY, i) for i in range(args.persons)]
    tokens = stack.prepare(
        people=ids,
        sites=["S000"],
        community=COMMUNITY,
        users={"commander0": "command_office", "commander1": "command_office"},
    )
    db = "postgresql" if url else "sqlite"
    print(
        f"leak: {args.requests:,} requests from {args.clients} clients on {db} ({folder}), {args.persons:,} people, "
        f"MALLOC_ARENA_MAX={args.malloc_arena_max or 'glibc default'}",
        file=sys.stderr,
    )
    runs = {}
    for label, mixed in (("login", False), ("mixed", True)):
        server = stack.serve(workers=1, threads=8)
        (server_pid[0],) = server.workers()
        # Warm-up: a tenth of the run, so lazily imported modules and first-use caches are loaded.
        drive(server.port, tokens[0], args.clients, args.requests // STEPS, mixed, ids)
        took, statuses, series = drive(server.port, tokens[0], args.clients, args.requests, mixed, ids)
        stack.stop_all()
        half = [(x / 1000, y) for x, y in series if x >= args.requests / 2]
        runs[label] = {
            "seconds": round(took, 2),
            "statuses": statuses,
            "rss_mb": [round(y, 1) for _, y in series],
            "growth_mb": round(series[-1][1] - series[0][1], 1),
            "slope_second_half_mb_per_1000": round(slope(half), 2),
        }
        print(
            f"  {label:6} {took:7.1f} s  RSS {series[0][1]:.0f} → {series[-1][1]:.0f} MB, second half "
            f"{runs[label]['slope_second_half_mb_per_1000']:+.2f} MB per 1,000 requests; {statuses}",
            file=sys.stderr,
        )
        bad = {k: v for k, v in statuses.items() if not k.endswith((" 200", " 503"))}
        if bad:
            print(f"  FAIL answers other than 200 and 503 (load shed): {bad}", file=sys.stderr)
            return 1
    out = {
        "bench": "leak",
        "scale": args.requests,
        "db": db,
        "phases": {"mixed": runs["mixed"]["seconds"]},
        "baseline": {"login": runs["login"]["seconds"]},
        "ratio": {"mixed": round(runs["mixed"]["seconds"] / runs["login"]["seconds"], 2)},
        "peak_rss_mb": max(runs["mixed"]["rss_mb"] + runs["login"]["rss_mb"]),
        "malloc_arena_max": args.malloc_arena_max,
        "runs": runs,
    }
    print(json.dumps(out, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
