"""Soak: a bad day's mixed load for N minutes, then proof that nothing was lost, doubled or corrupted.

    python bench/soak.py --minutes 30 [--db sqlite | --db postgres://postgres@127.0.0.1:5432/lianfang]
        [--persons 20000] [--devices 4] [--rate 2] [--surge-every 180] [--surge-devices 40]
        [--commanders 2] [--upload-every 60] [--cli-every 45]

One installation in subprocesses (``bench/_stack.py``): ``lianfang serve`` (gunicorn, 2 thread
workers) and ``lianfang worker`` on a scratch database (SQLite in a temporary folder, or the
PostgreSQL database ``<name>_soak``, dropped and created). All at once, for ``--minutes``:

* sampling devices (``--devices``, one site each) post a tube of 10 every ``1/--rate`` s; one
  member in a hundred is a visitor absent from the registry;
* every ``--surge-every`` s a synchronised surge: ``--surge-devices`` more devices start in the
  same instant and post 3 tubes each. A device answered 503 or left without an answer sends the
  same batch again after Retry-After (or 1 s), as the real ones do;
* commanders (``--commanders``, logged in through the login page) read the round page, the county
  page and the untested export of a town in a loop;
* every ``--upload-every`` s a grid upload through the web page and the background worker: new
  people, rows of the previous upload again (duplicates) and one invalid ID;
* every ``--cli-every`` s ``lianfang import results`` of the tubes stored so far (negative), with
  one row twice and one bad result.

At the end (the run exits 1 if one fails): every tube a device was told was stored is stored with
exactly its members, and nothing else is; every import's summary balances (read = accepted +
duplicate + held + rejected) and says what its file holds; SQLite's ``integrity_check`` or
PostgreSQL's ``amcheck`` over every index is clean; no answer was a 5xx other than 503 (the
clients' view and gunicorn's access log); the memory of every server process is reported (RSS
after the first fifth of the run and at the end).

The JSON line's ``phases`` are the counts; ``baseline`` the accepted tubes a minute in the first
minute, ``ratio`` the last full minute's rate over it (degradation over the run).
"""

from __future__ import annotations

import argparse
import collections
import csv
import datetime as dt
import http.cookiejar
import json
import re
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from _stack import HOST, PASSWORD, Device, Stack, children, rss_mb, scratch  # noqa: E402
from lianfang.people.idnumbers import check_digit  # noqa: E402  (no Django)

COMMUNITY = "350582001004"
COUNTY = COMMUNITY[:6]
LAB = "L1"
POOL = 10
SURGE_TUBES = 3
_SHANGHAI = dt.timezone(dt.timedelta(hours=8))


def person_id(region: str, n: int) -> str:
    born = dt.date(1950, 1, 1) + dt.timedelta(days=n // 900)
    body = f"{region}{born:%Y%m%d}{100 + n % 900:03d}"
    return body + check_digit(body)


def now_text() -> str:
    return (dt.datetime.now(_SHANGHAI) - dt.timedelta(seconds=5)).strftime("%Y-%m-%d %H:%M:%S")


class Run:
    """What every load thread records (under one lock)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.tubes: dict[str, list[str]] = {}  # barcode → members, for every tube answered 200
        self.accepted_at: list[float] = []
        self.statuses: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
        self.failures: list[str] = []
        self.imports: list[dict] = []

    def status(self, kind: str, code: int) -> None:
        with self.lock:
            self.statuses[kind][code] += 1

    def fail(self, text: str) -> None:
        with self.lock:
            self.failures.append(text)
        print(f"  FAIL {text}", file=sys.stderr)


def send_tube(run: Run, device: Device, kind: str, barcode: str, members: list[str]) -> None:
    body = {
        "round_code": "R1",
        "tube_barcode": barcode,
        "pool_size": POOL,
        "members": [{"id_number": m, "collected_at": now_text()} for m in members],
    }
    seen = len(device.answers)
    try:
        out = device.send("/api/v1/screening/tubes", body, give_up_after=600)
    except AssertionError as exc:
        run.fail(f"{kind} {barcode}: {exc}")
        return
    finally:
        for status, _ in device.answers[seen:]:
            run.status(kind, status)
    if out["accepted"] + out["duplicate"] != POOL:
        run.fail(f"{kind} {barcode}: {out}")
    with run.lock:
        run.tubes[barcode] = members
        run.accepted_at.append(time.monotonic())


class Members:
    """The people a device scans: the registry in turn, one visitor in a hundred."""

    def __init__(self, ids: list[str]):
        self.ids, self.n, self.lock = ids, 0, threading.Lock()

    def take(self, count: int) -> list[str]:
        with self.lock:
            out = []
            for _ in range(count):
                self.n += 1
                out.append(
                    person_id("110101", self.n) if self.n % 100 == 50 else self.ids[self.n % len(self.ids)]
                )
            return out


def device_loop(run: Run, port: int, token: str, d: int, members: Members, rate: float) -> None:
    device = Device(port, token, timeout=30)
    n = 0
    while not run.stop.is_set():
        started = time.monotonic()
        send_tube(run, device, "device", f"D{d:02d}-{n:06d}", members.take(POOL))
        n += 1
        run.stop.wait(max(0.0, 1 / rate - (time.monotonic() - started)))


def surge(run: Run, port: int, tokens: list[str], wave: int, members: Members) -> None:
    barrier = threading.Barrier(len(tokens))

    def one(s: int) -> None:
        device = Device(port, tokens[s], timeout=30)
        batches = [(f"W{wave:03d}-{s:03d}-{t}", members.take(POOL)) for t in range(SURGE_TUBES)]
        barrier.wait()
        for barcode, tube in batches:
            send_tube(run, device, "surge", barcode, tube)

    threads = [threading.Thread(target=one, args=(s,)) for s in range(len(tokens))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


class Browser:
    """A commander's browser: a session cookie from the login page, pages read with urllib."""

    def __init__(self, port: int, username: str):
        self.base = f"http://{HOST}:{port}"
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        # A form's POST is answered by its redirect, not followed: a 503 on the page it leads to
        # must not look like a 503 on the POST (the form would be sent twice).
        self.poster = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect())
        self.username = username

    def csrf(self) -> str:
        return next(c.value for c in self.jar if c.name == "csrftoken")

    def login(self) -> None:
        """Through the login page (its CSRF cookie first); a 503 is waited out like any other."""
        for path, form in (("/login/", None), ("/login/", {"username": self.username, "password": PASSWORD})):
            while True:
                status, body, url, retry_after = (
                    self.get(path) if form is None else self.post_form(path, form)
                )
                if status != 503:
                    break
                time.sleep(float(retry_after or 1))
            refused = form is not None and url.rstrip("/").endswith("/login")  # back to the form
            if status != (200 if form is None else 302) or refused:
                raise AssertionError(f"login of {self.username}: {status} at {url}: {body[:200]!r}")

    def get(self, path: str) -> tuple[int, bytes, str, str | None]:
        try:
            with self.opener.open(self.base + path, timeout=120) as r:
                return r.status, r.read(), r.geturl(), None
        except urllib.error.HTTPError as e:
            return e.code, e.read(), path, e.headers.get("Retry-After")

    def post_form(
        self, path: str, fields: dict, files: dict | None = None
    ) -> tuple[int, bytes, str, str | None]:
        fields = {**fields, "csrfmiddlewaretoken": self.csrf()}
        if files:
            boundary = uuid.uuid4().hex
            parts = []
            for k, v in fields.items():
                parts.append(
                    f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
                )
            for k, (name, data) in files.items():
                parts.append(
                    f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"; filename="{name}"\r\n'
                    f"Content-Type: text/csv\r\n\r\n".encode()
                    + data
                    + b"\r\n"
                )
            body = b"".join(parts) + f"--{boundary}--\r\n".encode()
            ctype = f"multipart/form-data; boundary={boundary}"
        else:
            body = urllib.parse.urlencode(fields).encode()
            ctype = "application/x-www-form-urlencoded"
        req = urllib.request.Request(
            self.base + path, data=body, headers={"Content-Type": ctype}, method="POST"
        )
        try:
            with self.poster.open(req, timeout=120) as r:
                return r.status, r.read(), r.geturl(), None
        except urllib.error.HTTPError as e:
            return e.code, e.read(), e.headers.get("Location") or path, e.headers.get("Retry-After")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None  # urllib then raises HTTPError with the 302 and its Location


def commander_loop(run: Run, port: int, username: str) -> None:
    browser = Browser(port, username)
    browser.login()
    pages = [
        ("page", "/rounds/R1/"),
        ("page", f"/rounds/R1/area/{COUNTY}/"),
        ("export", f"/rounds/R1/area/{COMMUNITY[:9]}/untested.csv"),  # a town: the lowest level that exports
    ]
    while not run.stop.is_set():
        for kind, path in pages:
            status, body, _, retry_after = browser.get(path)
            run.status(kind, status)
            if status == 503:
                run.stop.wait(float(retry_after or 1))
            elif status != 200:
                run.fail(f"{path} answered {status}: {body[:200]!r}")
        run.stop.wait(1.0)


def upload_loop(run: Run, stack: Stack, port: int, username: str, every: float, size: int) -> None:
    browser = Browser(port, username)
    browser.login()
    previous: list[list[str]] = []
    n = 0
    while not run.stop.wait(every if n else min(every, 10)):
        n += 1
        new = [[person_id("350583", n * 100_000 + i), f"新居民{n}-{i}", COMMUNITY] for i in range(size)]
        again = previous[: size // 10]
        bad = [["35058219800101001", "坏号码", COMMUNITY]]  # 17 characters: invalid_id_number
        rows = new + again + bad
        data = "id_number,name,community_code\n" + "".join(",".join(r) + "\n" for r in rows)
        while True:
            status, body, url, retry_after = browser.post_form(
                "/people/import/", {}, {"file": (f"grid-{n}.csv", data.encode())}
            )
            run.status("upload", status)
            if status != 503:
                break
            time.sleep(float(retry_after or 1))
        match = re.search(r"/imports/([0-9a-f-]{36})/", url)
        if status != 302 or not match:
            run.fail(f"grid upload {n}: {status} {url} {body[:200]!r}")
            continue
        summary = wait_job(stack, match.group(1))
        expected = {"read": len(rows), "accepted": size, "duplicate": len(again), "held": 0, "rejected": 1}
        check_import(run, f"grid upload {n}", summary, expected)
        previous = new


def wait_job(stack: Stack, job_id: str, timeout: float = 900) -> dict | None:
    key = job_id if stack.db_url else job_id.replace("-", "")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = stack.query(f"SELECT status, summary, error FROM imports_importjob WHERE id = '{key}'")
        if rows and rows[0][0] in ("done", "failed"):
            status, summary, error = rows[0]
            summary = json.loads(summary) if isinstance(summary, str) else summary
            return summary if status == "done" else {"failed": error}
        time.sleep(0.5)
    return None


def check_import(run: Run, what: str, summary: dict | None, expected: dict) -> None:
    with run.lock:
        run.imports.append({"what": what, "summary": summary})
    if not summary or "failed" in summary:
        run.fail(f"{what}: {summary}")
        return
    balanced = (
        summary["read"] == summary["accepted"] + summary["duplicate"] + summary["held"] + summary["rejected"]
    )
    got = {k: summary[k] for k in expected}
    if not balanced or got != expected:
        run.fail(f"{what}: expected {expected}, got {summary}")


def cli_loop(run: Run, stack: Stack, every: float) -> None:
    done: set[str] = set()
    n = 0
    while not run.stop.wait(every):
        n += 1
        with run.lock:
            tubes = [b for b in run.tubes if b not in done][:300]
        if not tubes:
            continue
        path = stack.folder / f"results-{n}.csv"
        when = now_text()
        rows = [[b, LAB, "negative", "", "", when] for b in tubes]
        rows += [rows[0], [tubes[0], LAB, "maybe", "", "", when]]  # the same row again; a bad result
        with open(path, "w", encoding="utf-8", newline="") as f:
            w = csv.writer(f)
            w.writerow(["tube_barcode", "lab_code", "result", "ct_orf1ab", "ct_n", "reported_at"])
            w.writerows(rows)
        while True:
            out = stack.run("import", "results", path, "--json", ok=False, timeout=900)
            run.status("cli", out.returncode)
            if out.returncode != 75:  # 75: the database was busy, run it again
                break
            time.sleep(1)
        if out.returncode != 0:
            run.fail(f"results import {n}: exit {out.returncode}: {out.stderr[-500:]}")
            continue
        summary = json.loads(out.stdout.strip().splitlines()[-1])
        expected = {"read": len(rows), "accepted": len(tubes), "duplicate": 1, "held": 0, "rejected": 1}
        check_import(run, f"results import {n}", summary, expected)
        done.update(tubes)


def guarded(run: Run, target):
    def call(*args):
        try:
            target(*args)
        except Exception as exc:  # noqa: BLE001
            run.fail(f"{target.__name__} stopped: {type(exc).__name__}: {exc}")

    return call


def memory(stack: Stack, server, worker) -> dict[str, float]:
    out = {"gunicorn master": rss_mb(server.proc.pid)}
    for i, pid in enumerate(sorted(server.workers())):
        out[f"gunicorn worker {i + 1} ({pid})"] = rss_mb(pid)
    # `lianfang worker` is the process itself (call_command), or its child under a reloader.
    pids = [worker.pid, *children(worker.pid)]
    out["task worker"] = max((rss_mb(p) or 0) for p in pids)
    return {k: round(v, 1) for k, v in out.items() if v}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--db", default="sqlite", help="'sqlite' or a PostgreSQL URL")
    parser.add_argument("--persons", type=int, default=20_000)
    parser.add_argument("--devices", type=int, default=4)
    parser.add_argument("--rate", type=float, default=2.0, help="tubes a second per device")
    parser.add_argument("--surge-every", type=float, default=180)
    parser.add_argument("--surge-devices", type=int, default=40)
    parser.add_argument("--commanders", type=int, default=2)
    parser.add_argument("--upload-every", type=float, default=60)
    parser.add_argument("--upload-size", type=int, default=2000)
    parser.add_argument("--cli-every", type=float, default=45)
    args = parser.parse_args()

    stack = scratch(args.db, "soak")
    folder, url = stack.folder, stack.db_url
    started = time.monotonic()
    ids = [person_id(COUNTY, i) for i in range(args.persons)]
    n_sites = args.devices + args.surge_devices
    tokens = stack.prepare(
        people=ids,
        sites=[f"S{i:03d}" for i in range(n_sites)],
        community=COMMUNITY,
        users={f"commander{i}": "command_office" for i in range(args.commanders + 1)},
        labs=[LAB],
    )
    setup_s = time.monotonic() - started
    db = "postgresql" if url else "sqlite"
    print(
        f"soak: {args.minutes:g} min on {db} ({folder}), {args.persons:,} people, {args.devices} devices × "
        f"{args.rate:g} tubes/s, surge of {args.surge_devices} every {args.surge_every:g} s, "
        f"{args.commanders} commanders, grid upload every {args.upload_every:g} s, CLI results every "
        f"{args.cli_every:g} s; set-up {setup_s:.0f} s",
        file=sys.stderr,
    )
    server = stack.serve(workers=2, threads=8)
    worker = stack.start("worker", "--interval", "0.5", "--no-startup-delay", log="worker.log")
    run = Run()
    members = Members(ids)
    threads = [
        threading.Thread(target=device_loop, args=(run, server.port, tokens[d], d, members, args.rate))
        for d in range(args.devices)
    ]
    threads += [
        threading.Thread(target=commander_loop, args=(run, server.port, f"commander{i}"))
        for i in range(args.commanders)
    ]
    threads.append(
        threading.Thread(
            target=upload_loop,
            args=(
                run,
                stack,
                server.port,
                f"commander{args.commanders}",
                args.upload_every,
                args.upload_size,
            ),
        )
    )
    threads.append(threading.Thread(target=cli_loop, args=(run, stack, args.cli_every)))
    for t in threads:
        t._target = guarded(run, t._target)  # a thread that dies is a failure of the run, not a silence
    t0 = time.monotonic()
    end = t0 + args.minutes * 60
    for t in threads:
        t.start()
    mem_first = None
    wave = 0
    next_surge = t0 + min(args.surge_every, args.minutes * 60 / 2)
    try:
        while time.monotonic() < end:
            if mem_first is None and time.monotonic() - t0 >= args.minutes * 60 / 5:
                mem_first = memory(stack, server, worker)
            if time.monotonic() >= next_surge:
                wave += 1
                print(f"  {time.monotonic() - t0:6.0f} s  surge {wave}", file=sys.stderr)
                surge(run, server.port, tokens[args.devices :], wave, members)
                next_surge += args.surge_every
            time.sleep(0.5)
        mem_last = memory(stack, server, worker)
    finally:
        run.stop.set()
        for t in threads:
            t.join(timeout=900)
    elapsed = time.monotonic() - t0
    stack.stop_all()

    # ---- the end-of-run checks ----
    stored = stack.stored_pairs()
    expected = {(b, m) for b, members_ in run.tubes.items() for m in members_}
    exactly_once = len(stored) == len(set(stored)) and set(stored) == expected
    if not exactly_once:
        run.fail(
            f"samples: {len(stored)} stored ({len(stored) - len(set(stored))} doubled), {len(expected)} acknowledged, "
            f"{len(expected - set(stored))} lost, {len(set(stored) - expected)} unexpected"
        )
    integrity = stack.integrity()
    if integrity != "ok":
        run.fail(f"integrity: {integrity}")
    log_500 = sum(
        1
        for line in (folder / "serve.log").read_text(errors="replace").splitlines()
        if re.search(r'" 5(?!03)\d\d ', line)
    )
    client_5xx = {
        k: sum(v for s, v in c.items() if isinstance(s, int) and s >= 500 and s != 503)
        for k, c in run.statuses.items()
    }
    if log_500 or any(client_5xx.values()):
        run.fail(f"5xx answers: access log {log_500}, clients {client_5xx}")
    growth = {k: round(mem_last.get(k, 0) - v, 1) for k, v in (mem_first or {}).items() if k in mem_last}

    minute = [0] * (int(elapsed // 60) + 1)
    for at in run.accepted_at:
        minute[min(int((at - t0) // 60), len(minute) - 1)] += 1
    full = minute[: int(args.minutes)] or minute  # whole minutes of load (not the wind-down after it)
    phases = {
        "minutes": round(elapsed / 60, 2),
        "tubes_acknowledged": len(run.tubes),
        "samples_stored": len(stored),
        "surges": wave,
        "answers": {k: dict(sorted((str(s), n) for s, n in c.items())) for k, c in run.statuses.items()},
        "imports": len(run.imports),
        "imports_balanced": not any("grid" in f or "results" in f for f in run.failures),
        "exactly_once": exactly_once,
        "integrity": integrity,
        "access_log_5xx_not_503": log_500,
        "tubes_per_minute": minute,
    }
    out = {
        "bench": "soak",
        "scale": args.persons,
        "db": db,
        "phases": phases,
        "baseline": {"tubes_first_minute": full[0]},
        "ratio": {"last_over_first_minute": round(full[-1] / full[0], 3) if full[0] else None},
        "peak_rss_mb": max(mem_last.values()),
        "memory_mb": {"after_first_fifth": mem_first, "end": mem_last, "growth": growth},
        "failures": run.failures,
    }
    print(
        f"  ran {elapsed / 60:.1f} min: {len(run.tubes):,} tubes acknowledged, {len(stored):,} samples stored, "
        f"exactly once {exactly_once}; {len(run.imports)} imports; integrity {integrity}; "
        f"answers {phases['answers']}; memory growth MB {growth}; failures {len(run.failures)}",
        file=sys.stderr,
    )
    print(json.dumps(out, ensure_ascii=False))
    return 1 if run.failures else 0


if __name__ == "__main__":
    sys.exit(main())
