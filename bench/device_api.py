"""Device API under load: sustained throughput, p50/p99 latency and the 7:00 surge, against a bare endpoint.

    python bench/device_api.py [--db sqlite | --db postgres://postgres@127.0.0.1:5432/lianfang_devbench]
        [--persons 100000] [--clients 4] [--duration 12] [--surge-clients 200] [--surge-tubes 3]
        [--servers serve,gthread] [--workers 2] [--profile 0]

Set-up (not timed): a scratch database (``_common.prepare_database``: SQLite in a temporary
directory, or the PostgreSQL database ``<name>_device_api``, dropped and created), the synthetic
city (``population_load``, as ``lianfang simulate``), a round open over the city (``3505``), one
site per client (``sites_import``), a sampler with jurisdiction ``3505`` and one device token per
site (``device_token_issue``). The servers are subprocesses sharing that database through
``LIANFANG_DATA_DIR`` / ``LIANFANG_DATABASE_URL``, in production mode (``LIANFANG_PRODUCTION``).

Server configurations (``--servers``), each running the API and the bare baseline with the same
gunicorn command line on 127.0.0.1 (the actual command and worker class are read back from the
gunicorn master and reported):

* ``serve``   — ``lianfang serve --workers W --threads 8``: the production command as it is;
* ``sync``    — ``lianfang serve --workers W --threads 1``: plain sync workers;
* ``gthread`` — ``python -m gunicorn lianfang.config.wsgi:application --worker-class gthread
  --threads 8`` with ``serve``'s other flags: the thread workers the load shedding is written for.

The baseline server runs ``bench/bare_endpoint.py`` (``DJANGO_SETTINGS_MODULE=bench.bare_endpoint``):
the same settings and middleware, ``POST /bare/tubes`` and ``/bare/scans`` storing the same rows
with no authentication, validation, refresh or audit.

Load: a closed loop of ``--clients`` devices (one site and token each) in separate processes, each
a keep-alive ``http.client`` connection on loopback (sync workers close it after every response,
so there every request reconnects, as a device would). Modes: ``tubes`` (a tube and its 10
members per request, unique barcodes) and ``scans`` (one person per request, ten per tube). About
one member in a hundred is a visitor absent from the registry (created unregistered). Each
sustained phase runs ``--duration`` seconds after a short warm-up; throughput counts the requests
answered 200 with every row accepted within the window; latency is client-side (connect included).

Surge: ``--surge-clients`` devices all start at the same instant (a shared start time, ~1 ms
spread) and post ``--surge-tubes`` tubes each; a 503 is retried after its Retry-After, a timeout
(``--timeout`` s) or a refused connection after 1 s, until every tube is stored. Reported: the
first wave (200 / 503 with Retry-After / timeouts, max latency), every attempt, the drain time.

Checks (the run fails loudly otherwise): every phase's stored samples equal the distinct
(tube, person) pairs of the requests answered 200 (plus at most the rows of requests that got no
answer); after the surge every tube holds exactly the members sent: every accepted scan stored once.

Also measured: server CPU per request (the gunicorn workers' utime+stime over the phase), the
PostgreSQL backends' CPU per request, the load generator's CPU, the workers' peak RSS, and an
in-process time per request (Django's test client, no HTTP) for the API and the bare view.
``--profile N`` runs N in-process ``/tubes`` requests under cProfile and prints the top functions.

Goals (issue): on 2 cores, ≥ 50 % of the bare endpoint's throughput in both modes, p99 < 250 ms at
the sustained rate, 503 + Retry-After instead of timeouts under overload, every scan stored once.
The load generator shares the machine's cores with the servers (and the database).
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import itertools
import json
import multiprocessing as mp
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import peak_rss_mb, prepare_database  # noqa: E402
from _stack import children  # noqa: E402
from lianfang.people.idnumbers import check_digit  # noqa: E402  (no Django: the load generator imports it)

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
ROUND_CODE = "DEV-0700"
SCOPE = "3505"
POOL = 10
VISITOR_EVERY = 100  # one member in a hundred is not in the registry
GTHREADS = 8
WARMUP_S = 2.0
SURGE_LIMIT_S = 180.0
_SHANGHAI = dt.timezone(dt.timedelta(hours=8))
_EPOCH = dt.date(1950, 1, 1)


# --------------------------------------------------------------------------------------------
# The load generator: spawned processes, no Django.


def visitor_id(region: int, n: int) -> str:
    """The n-th valid resident ID of region ``11xxxx`` (outside Fujian): never in the synthetic registry."""
    born = _EPOCH + dt.timedelta(days=n // 1000)
    body = f"11{region:04d}{born:%Y%m%d}{n % 1000:03d}"
    return body + check_digit(body)


class Payloads:
    """Deterministic requests of one phase: the parent rebuilds what a client sent from (client, seq)."""

    def __init__(self, ids: list[str], prefix: str, phase_no: int):
        self.ids, self.prefix, self.phase_no = ids, prefix, phase_no

    def barcode(self, client: int, tube: int) -> str:
        return f"{self.prefix}{client:03d}-{tube:06d}"

    def member(self, client: int, k: int) -> str:
        """The k-th person scanned by ``client`` (k = tube * POOL + position)."""
        if k % VISITOR_EVERY == VISITOR_EVERY // 2:
            return visitor_id(self.phase_no, client * 20_000 + k // VISITOR_EVERY)
        return self.ids[(client * 7919 + k) % len(self.ids)]

    def tube_rows(self, client: int, tube: int) -> list[tuple[str, str]]:
        barcode = self.barcode(client, tube)
        return [(barcode, self.member(client, tube * POOL + j)) for j in range(POOL)]


def _now_text() -> str:
    return dt.datetime.now(_SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")


class Http:
    """One device's connection: kept alive when the server allows it, reopened otherwise."""

    def __init__(self, port: int, timeout: float):
        self.port, self.timeout, self.conn = port, timeout, None

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def post(self, path: str, body: bytes, headers: dict) -> tuple[int, str | None, bytes]:
        for attempt in (0, 1):
            reused = self.conn is not None
            if self.conn is None:
                self.conn = http.client.HTTPConnection(HOST, self.port, timeout=self.timeout)
            try:
                self.conn.request("POST", path, body, headers)
                resp = self.conn.getresponse()
                data = resp.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.close()
                if reused and attempt == 0:  # a kept-alive connection the server had closed: reopen
                    continue
                raise
            except BaseException:
                self.close()
                raise
            if resp.will_close:
                self.close()
            return resp.status, resp.getheader("Retry-After"), data
        raise AssertionError("not reached")


def _outcome(status: int, data: bytes) -> tuple[int, int, int]:
    """(accepted, duplicate, other rows) of a 200 answer."""
    if status != 200:
        return 0, 0, 0
    out = json.loads(data)
    accepted, duplicate = out.get("accepted", 0), out.get("duplicate", 0)
    return accepted, duplicate, out.get("read", accepted) - accepted - duplicate


def _body(job: dict, payloads: Payloads, client: int, seq: int) -> tuple[str, bytes]:
    site = job["sites"][client]
    when = _now_text()
    if job["mode"] == "tubes":
        rows = payloads.tube_rows(client, seq)
        body = {
            "round_code": ROUND_CODE,
            "tube_barcode": rows[0][0],
            "pool_size": POOL,
            "site_code": site,
            "members": [{"id_number": i, "collected_at": when} for _, i in rows],
        }
    else:  # scans: seq is the k-th scan; ten scans fill a tube
        body = {
            "round_code": ROUND_CODE,
            "tube_barcode": payloads.barcode(client, seq // POOL),
            "pool_size": POOL,
            "site_code": site,
            "id_number": payloads.member(client, seq),
            "collected_at": when,
        }
    return job["path"], json.dumps(body).encode()


def _client(job: dict, payloads: Payloads, client: int, start_at: float, out: list) -> None:
    """One device. Records: (client, seq, attempt, t0 - start, latency, status, retry_after, acc, dup, other, error)."""
    http_ = Http(job["port"], job["timeout"])
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {job['tokens'][client]}"}
    delay = start_at - time.time()
    if delay > 0.002:
        time.sleep(delay - 0.002)
    while time.time() < start_at:
        pass
    t_start = time.perf_counter()
    end = t_start + job.get("duration", 0)
    seqs = range(job["count"]) if job["kind"] == "surge" else itertools.count()  # surge: fixed; else endless
    try:
        for seq in seqs:
            if job["kind"] != "surge" and time.perf_counter() >= end:
                break
            attempt = 0
            while True:
                path, body = _body(job, payloads, client, seq)
                t0 = time.perf_counter()
                error, status, retry_after, data = "", 0, None, b""
                try:
                    status, retry_after, data = http_.post(path, body, headers)
                except TimeoutError:
                    error = "timeout"
                except (ConnectionError, http.client.HTTPException, OSError) as exc:
                    error = type(exc).__name__
                latency = time.perf_counter() - t0
                acc, dup, other = _outcome(status, data)
                out.append(
                    (client, seq, attempt, t0 - t_start, latency, status, retry_after, acc, dup, other, error)
                )
                if job["kind"] != "surge" or status == 200:
                    break
                if status not in (0, 503) or time.perf_counter() - t_start > SURGE_LIMIT_S:
                    return  # an error no retry will mend (the run's checks then fail), or out of time
                attempt += 1
                if status == 503 and retry_after:
                    http_.close()  # a device waits, then reconnects
                    time.sleep(float(retry_after))
                else:
                    time.sleep(1.0)
    finally:
        http_.close()


def _process(job: dict, ids: list[str], clients: list[int], ready, go, start_at, results) -> None:
    payloads = Payloads(ids, job["prefix"], job["phase_no"])
    outs: dict[int, list] = {c: [] for c in clients}
    ready.put(os.getpid())
    go.wait()
    cpu0 = time.process_time()
    threads = [
        threading.Thread(target=_client, args=(job, payloads, c, start_at.value, outs[c]), daemon=True)
        for c in clients
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    results.put(([r for c in clients for r in outs[c]], time.process_time() - cpu0))


def run_load(job: dict, ids: list[str], clients: int, processes: int) -> tuple[list[tuple], float, float]:
    """Run ``clients`` devices in ``processes`` spawned processes; returns (records, t_start, generator CPU s)."""
    ctx = mp.get_context("spawn")
    ready, results, go = ctx.Queue(), ctx.Queue(), ctx.Event()
    start_at = ctx.Value("d", 0.0)
    groups = [list(range(clients))[i::processes] for i in range(min(processes, clients))]
    procs = [
        ctx.Process(target=_process, args=(job, ids, g, ready, go, start_at, results), daemon=True)
        for g in groups
    ]
    for p in procs:
        p.start()
    for _ in procs:
        ready.get(timeout=60)
    start_at.value = time.time() + 0.3
    go.set()
    records, cpu = [], 0.0
    for _ in procs:
        rec, c = results.get(timeout=job.get("duration", 0) + SURGE_LIMIT_S + 120)
        records.extend(rec)
        cpu += c
    for p in procs:
        p.join(timeout=10)
    return records, start_at.value, cpu


# --------------------------------------------------------------------------------------------
# Servers


def _proc_stat(pid: int) -> tuple[float, float] | None:
    """(CPU seconds, peak RSS MB) of a process, None when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        hwm = 0.0
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                hwm = int(line.split()[1]) / 1024
        return cpu, hwm
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return None


class Server:
    def __init__(self, name: str, argv: list[str], env: dict, port: int, log: Path):
        self.name, self.argv, self.env, self.port, self.log = name, argv, env, port, log
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                self.argv, env=self.env, cwd=ROOT, stdout=log, stderr=log, start_new_session=True
            )
        deadline = time.time() + 90
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited: see {self.log}")
            try:
                conn = http.client.HTTPConnection(HOST, self.port, timeout=5)
                conn.request("GET", "/api/v1/me")
                conn.getresponse().read()
                conn.close()
                if len(self.workers()) >= 1:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} did not answer on port {self.port}: see {self.log}")

    def command(self) -> str:
        """The gunicorn master's actual command line (``lianfang serve`` execs it)."""
        raw = Path(f"/proc/{self.proc.pid}/cmdline").read_bytes().rstrip(b"\0").split(b"\0")
        return " ".join(Path(a.decode()).name if i == 0 else a.decode() for i, a in enumerate(raw))

    def worker_class(self) -> str:
        args = self.command().split()
        threads = int(args[args.index("--threads") + 1]) if "--threads" in args else 1
        cls = args[args.index("--worker-class") + 1] if "--worker-class" in args else "sync"
        return "gthread" if cls == "gthread" or (cls == "sync" and threads > 1) else cls

    def workers(self) -> list[int]:
        return children(self.proc.pid) if self.proc else []

    def usage(self) -> tuple[float, float]:
        """(CPU seconds of the workers so far, their largest peak RSS in MB)."""
        cpu, hwm = 0.0, 0.0
        for pid in self.workers():
            stat = _proc_stat(pid)
            if stat:
                cpu += stat[0]
                hwm = max(hwm, stat[1])
        return cpu, hwm

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)  # the session this bench started for it
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def server_argv(config: str, workers: int, port: int) -> list[str]:
    lianfang = str(Path(sys.executable).parent / "lianfang")
    base = ["--workers", str(workers)]
    if config == "serve":
        return [lianfang, "serve", "--host", HOST, "--port", str(port), *base, "--threads", str(GTHREADS)]
    if config == "sync":
        return [lianfang, "serve", "--host", HOST, "--port", str(port), *base, "--threads", "1"]
    if config == "gthread":  # serve's flags (cli._serve), with the thread workers
        return [
            sys.executable, "-m", "gunicorn", "lianfang.config.wsgi:application", "--bind", f"{HOST}:{port}",
            *base, "--worker-class", "gthread", "--threads", str(GTHREADS), "--timeout", "120",
            "--access-logfile", "-",
        ]  # fmt: skip
    raise SystemExit(f"unknown server configuration {config!r}")


# --------------------------------------------------------------------------------------------
# Measuring


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def _ms(value: float) -> float:
    return round(value * 1000, 1)


def _db_backends_cpu() -> dict[int, float]:
    """CPU seconds of the PostgreSQL backends serving the bench database (other than this process's)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        pids = [r[0] for r in cursor.fetchall()]
    out = {}
    for pid in pids:
        stat = _proc_stat(pid)
        if stat:
            out[pid] = stat[0]
    return out


def _db_cpu_delta(before: dict[int, float]) -> float:
    after = _db_backends_cpu()
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())


def sustained(server: Server, *, app: str, mode: str, ids, sites, tokens, args, phase_no: int, prefix: str):
    path = {"api": f"/api/v1/screening/{mode}", "bare": f"/bare/{mode}"}[app]
    job = {
        "kind": "sustained", "mode": mode, "path": path, "port": server.port, "timeout": args.timeout,
        "sites": sites, "tokens": tokens, "prefix": "w" + prefix, "phase_no": phase_no + 50,
        "duration": WARMUP_S,
    }  # fmt: skip
    run_load(job, ids, args.clients, args.clients)
    job.update(prefix=prefix, phase_no=phase_no, duration=args.duration)
    cpu0, _ = server.usage()
    db0 = _db_backends_cpu()
    load0 = os.getloadavg()[0]
    records, _, gen_cpu = run_load(job, ids, args.clients, args.clients)
    cpu1, hwm = server.usage()
    db_cpu = _db_cpu_delta(db0)
    want = POOL if mode == "tubes" else 1
    in_window = [r for r in records if r[3] + r[4] <= args.duration]
    ok = [r for r in in_window if r[5] == 200 and r[7] + r[8] == want and r[9] == 0]
    lat = [r[4] for r in records if r[5] == 200]
    statuses: dict[str, int] = {}
    for r in records:
        key = r[10] or str(r[5])
        statuses[key] = statuses.get(key, 0) + 1
    not_accepted = sum(r[8] + r[9] for r in records if r[5] == 200)
    failed = {k: v for k, v in statuses.items() if k not in ("200", "503")}
    if failed or not ok:
        raise AssertionError(
            f"{server.name} {app} {mode}: answers {statuses}, {len(ok)} fully accepted: see {server.log}"
        )
    stored = verify_sustained(records, job, ids, mode)
    result = {
        "rps": round(len(ok) / args.duration, 1),
        "rows_per_s": round(len(ok) * want / args.duration, 1),
        "p50_ms": _ms(_pct(lat, 0.50)),
        "p90_ms": _ms(_pct(lat, 0.90)),
        "p99_ms": _ms(_pct(lat, 0.99)),
        "max_ms": _ms(max(lat) if lat else float("nan")),
        "requests": len(records),
        "statuses": statuses,
        "rows_not_accepted": not_accepted,
        "server_cpu_ms_per_req": round((cpu1 - cpu0) * 1000 / max(1, len(records)), 2),
        "db_cpu_ms_per_req": round(db_cpu * 1000 / max(1, len(records)), 2) if db0 or db_cpu else None,
        "generator_cpu_share": round(gen_cpu / (args.duration * os.cpu_count()), 2),
        "worker_peak_rss_mb": round(hwm, 1),
        "loadavg_before": round(load0, 2),
        "stored_rows": stored,
    }
    print(
        f"  {server.name:<8} {app:<4} {mode:<5} {result['rps']:8.1f} req/s  p50 {result['p50_ms']:7.1f} ms"
        f"  p99 {result['p99_ms']:7.1f} ms  max {result['max_ms']:7.1f} ms  server CPU "
        f"{result['server_cpu_ms_per_req']:.2f} ms/req  {statuses}",
        file=sys.stderr,
    )
    return result


def _stored_pairs(prefix: str) -> set[tuple[str, str]]:
    from django.db import connection

    from lianfang.people.models import Person
    from lianfang.screening.models import Sample, Tube

    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT t.barcode, p.id_number FROM {Sample._meta.db_table} s "
            f"JOIN {Tube._meta.db_table} t ON t.id = s.tube_id JOIN {Person._meta.db_table} p ON p.id = s.person_id "
            "WHERE t.barcode LIKE %s",
            [prefix + "%"],
        )
        rows = cursor.fetchall()
    pairs = set(rows)
    if len(pairs) != len(rows):
        raise AssertionError(f"{prefix}: a (tube, person) pair stored twice")
    return pairs


def verify_sustained(records: list[tuple], job: dict, ids, mode: str) -> int:
    """Stored pairs = the pairs of requests answered 200, plus at most those of unanswered requests."""
    payloads = Payloads(ids, job["prefix"], job["phase_no"])

    def pairs(client: int, seq: int) -> list[tuple[str, str]]:
        if mode == "tubes":
            return payloads.tube_rows(client, seq)
        return [(payloads.barcode(client, seq // POOL), payloads.member(client, seq))]

    answered, unknown = set(), set()
    for r in records:
        (answered if r[5] == 200 else unknown if r[10] else set()).update(pairs(r[0], r[1]))
    stored = _stored_pairs(job["prefix"])
    if not answered <= stored or not stored <= answered | unknown:
        raise AssertionError(
            f"{job['prefix']}: stored {len(stored)} pairs, answered 200 for {len(answered)}, "
            f"missing {len(answered - stored)}, unexpected {len(stored - answered - unknown)}"
        )
    return len(stored)


def surge(server: Server, *, ids, sites, tokens, args, phase_no: int, prefix: str) -> dict:
    job = {
        "kind": "surge", "mode": "tubes", "path": "/api/v1/screening/tubes", "port": server.port,
        "timeout": args.timeout, "sites": sites, "tokens": tokens, "prefix": prefix, "phase_no": phase_no,
        "count": args.surge_tubes,
    }  # fmt: skip
    cpu0, _ = server.usage()
    load0 = os.getloadavg()[0]
    procs = min(8, max(1, args.surge_clients // 25))
    records, _, _ = run_load(job, ids, args.surge_clients, procs)
    cpu1, hwm = server.usage()
    first = [r for r in records if r[1] == 0 and r[2] == 0]
    busy = [r for r in records if r[5] == 503]
    done = {(r[0], r[1]) for r in records if r[5] == 200}
    expected_tubes = args.surge_clients * args.surge_tubes

    def count(rs, pred) -> int:
        return sum(1 for r in rs if pred(r))

    result = {
        "clients": args.surge_clients,
        "tubes": expected_tubes,
        "first_wave": {
            "ok": count(first, lambda r: r[5] == 200),
            "busy_503": count(first, lambda r: r[5] == 503),
            "busy_503_without_retry_after": count(first, lambda r: r[5] == 503 and not r[6]),
            "timeouts": count(first, lambda r: r[10] == "timeout"),
            "other": count(first, lambda r: r[5] not in (200, 503) and r[10] != "timeout"),
            "p50_ms": _ms(_pct([r[4] for r in first], 0.5)),
            "p99_ms": _ms(_pct([r[4] for r in first], 0.99)),
            "max_ms": _ms(max(r[4] for r in first)),
            "max_503_ms": _ms(max((r[4] for r in first if r[5] == 503), default=0.0)),
            "max_200_ms": _ms(max((r[4] for r in first if r[5] == 200), default=0.0)),
        },
        "attempts": len(records),
        "busy_503": len(busy),
        "busy_503_without_retry_after": count(busy, lambda r: not r[6]),
        "timeouts": count(records, lambda r: r[10] == "timeout"),
        "connection_errors": count(records, lambda r: r[10] and r[10] != "timeout"),
        "server_errors": count(records, lambda r: r[5] >= 500 and r[5] != 503),
        "max_ms": _ms(max(r[4] for r in records)),
        "stored_tubes": len(done),
        "drain_s": round(max(r[3] + r[4] for r in records), 2),
        "server_cpu_s": round(cpu1 - cpu0, 2),
        "worker_peak_rss_mb": round(hwm, 1),
        "loadavg_before": round(load0, 2),
    }
    # Every tube sent is stored with exactly its members: nothing lost, nothing doubled.
    payloads = Payloads(ids, prefix, phase_no)
    sent = {
        p
        for c in range(args.surge_clients)
        for t in range(args.surge_tubes)
        for p in payloads.tube_rows(c, t)
    }
    stored = _stored_pairs(prefix)
    answers = [r for r in records if r[5] == 200]
    accepted, duplicate = sum(r[7] for r in answers), sum(r[8] for r in answers)
    result.update(stored_rows=len(stored), accepted_rows=accepted, duplicate_rows=duplicate)
    # A retry of a request that timed out but was stored answers "duplicate": still stored once.
    result["exactly_once"] = (
        stored == sent
        and len(done) == expected_tubes
        and all(r[7] + r[8] == POOL and r[9] == 0 for r in answers)
        and accepted <= len(sent)
    )
    fw = result["first_wave"]
    print(
        f"  {server.name:<8} api  surge {args.surge_clients} clients × {args.surge_tubes} tubes: first wave "
        f"{fw['ok']} ok, {fw['busy_503']} × 503, {fw['timeouts']} timeouts, max {fw['max_ms']:.0f} ms; "
        f"{result['attempts']} attempts, {result['busy_503']} × 503, {result['timeouts']} timeouts, "
        f"drained in {result['drain_s']} s; stored {len(stored)}/{len(sent)} rows ({accepted} answered accepted, "
        f"{duplicate} duplicate on a retry), exactly once: {result['exactly_once']}",
        file=sys.stderr,
    )
    if not result["exactly_once"]:
        raise AssertionError(
            f"surge: stored {len(stored)} of {len(sent)} rows ({len(sent - stored)} missing, "
            f"{len(stored - sent)} unexpected), {accepted} accepted, {duplicate} duplicate, "
            f"{len(done)}/{expected_tubes} tubes answered 200"
        )
    return result


def clear_samples() -> None:
    """Empty tubes and samples between servers (each configuration starts from the same tables)."""
    from django.db import connection, transaction

    from lianfang.screening.models import PoolAlert, PositiveFinding, RecheckTask, Sample, Tube

    tables = [m._meta.db_table for m in (PositiveFinding, RecheckTask, PoolAlert, Sample, Tube)]
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"TRUNCATE {', '.join(tables)} CASCADE")
        else:
            for table in tables:
                cursor.execute(f"DELETE FROM {table}")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"VACUUM ANALYZE {tables[-1]}")
    connection.close()


# --------------------------------------------------------------------------------------------
# In process: Django's test client, no HTTP


def inprocess(ids, site_code: str, token: str, n: int, profile: int) -> dict:
    import cProfile
    import pstats

    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, override_settings

    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))  # bench.bare_endpoint
    payloads = Payloads(ids, "ip-", 90)
    out = {}
    for app, path in (("api", "/api/v1/screening/tubes"), ("bare", "/bare/tubes")):
        client = Client(headers={"authorization": f"Bearer {token}"})
        times = []
        with override_settings(
            ROOT_URLCONF="bench.bare_endpoint" if app == "bare" else "lianfang.config.urls"
        ):
            for seq in range(n + 20):
                rows = payloads.tube_rows(0 if app == "api" else 1, seq)
                body = {
                    "round_code": ROUND_CODE, "tube_barcode": rows[0][0], "pool_size": POOL,
                    "site_code": site_code, "members": [{"id_number": i, "collected_at": _now_text()} for _, i in rows],
                }  # fmt: skip
                if seq == n:  # one request with its SQL statements counted
                    with CaptureQueriesContext(connection) as queries:
                        r = client.post(path, body, content_type="application/json")
                    statements = len(queries.captured_queries)
                else:
                    t0 = time.perf_counter()
                    r = client.post(path, body, content_type="application/json")
                    if seq >= 20:
                        times.append(time.perf_counter() - t0)
                assert r.status_code == 200 and r.json()["accepted"] == POOL, r.content[:500]
        out[app] = {
            "p50_ms": _ms(_pct(times, 0.5)),
            "mean_ms": _ms(sum(times) / len(times)),
            "sql_statements": statements,
        }
        print(
            f"  in-process {app:<4} /tubes  p50 {out[app]['p50_ms']} ms  mean {out[app]['mean_ms']} ms  "
            f"{statements} SQL statements per request",
            file=sys.stderr,
        )
    if profile:
        client = Client(headers={"authorization": f"Bearer {token}"})
        bodies = []
        for seq in range(profile):
            rows = payloads.tube_rows(2, seq)
            bodies.append({
                "round_code": ROUND_CODE, "tube_barcode": rows[0][0], "pool_size": POOL, "site_code": site_code,
                "members": [{"id_number": i, "collected_at": _now_text()} for _, i in rows],
            })  # fmt: skip
        prof = cProfile.Profile()
        prof.enable()
        for body in bodies:
            client.post("/api/v1/screening/tubes", body, content_type="application/json")
        prof.disable()
        stats = pstats.Stats(prof, stream=sys.stderr)
        stats.sort_stats("cumulative").print_stats(60)
        stats.sort_stats("tottime").print_stats(30)
        # Lianfang's own functions by cumulative time per request (profiler overhead included).
        src = str(ROOT / "src")
        own = sorted(
            (
                (cum, f"{Path(file).relative_to(src)}:{line}({name})")
                for (file, line, name), (_, _, _, cum, _) in stats.stats.items()
                if file.startswith(src)
            ),
            reverse=True,
        )
        total = sum(
            v[3]
            for k, v in stats.stats.items()
            if k[2] == "get_response" and k[0].endswith("handlers/base.py")
        )
        out["profile_ms_per_request"] = {"(Django handler, whole request)": round(total * 1000 / profile, 2)}
        out["profile_ms_per_request"].update({name: round(cum * 1000 / profile, 2) for cum, name in own[:30]})
        print("  Lianfang functions, cumulative ms per /tubes request under cProfile:", file=sys.stderr)
        for name, ms in out["profile_ms_per_request"].items():
            print(f"    {ms:7.2f}  {name}", file=sys.stderr)
    return out


# --------------------------------------------------------------------------------------------


def _terminate(signum, frame) -> None:
    raise SystemExit(f"signal {signum}")  # unwinds through the finally blocks that stop the servers


def main() -> None:
    signal.signal(signal.SIGTERM, _terminate)
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--persons", type=int, default=100_000, help="registry size (scale)")
    parser.add_argument("--seed", type=int, default=2022)
    parser.add_argument("--db", default="sqlite", help="'sqlite' or a PostgreSQL URL")
    parser.add_argument("--clients", type=int, default=4, help="devices in the sustained phases")
    parser.add_argument("--duration", type=float, default=12.0, help="seconds per sustained phase")
    parser.add_argument("--surge-clients", type=int, default=200)
    parser.add_argument("--surge-tubes", type=int, default=3, help="tubes each surge client posts")
    parser.add_argument("--timeout", type=float, default=10.0, help="client timeout, seconds")
    parser.add_argument("--servers", default="serve,gthread", help="serve, sync, gthread (comma-separated)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--inprocess", type=int, default=200, help="in-process requests per app (0: skip)")
    parser.add_argument("--profile", type=int, default=0, help="in-process /tubes requests under cProfile")
    args = parser.parse_args()

    # Production mode for the bench process and, inherited, the servers (DEBUG off, strict hosts).
    scratch = Path(tempfile.mkdtemp(prefix="bench-device-api-"))
    os.environ.update(
        LIANFANG_PRODUCTION="true",
        LIANFANG_SECRET_KEY="bench-device-api-" + "x" * 40,
        LIANFANG_ALLOWED_HOSTS="127.0.0.1,localhost,testserver",
        LIANFANG_SECURE_COOKIES="false",
        LIANFANG_SSL_REDIRECT="false",  # plain HTTP on loopback (production redirects to HTTPS)
    )
    os.environ["LIANFANG_DATA_DIR"] = str(scratch)  # PostgreSQL: static files (SQLite: replaced by its own)
    started = time.perf_counter()
    db = prepare_database(args.db, "device_api")
    import pyarrow as pa
    from django.conf import settings
    from django.db import connection

    from lianfang.accounts.services import user_create
    from lianfang.people.models import Person
    from lianfang.screening import services
    from lianfang.simulate.services import population_load

    n_sites = max(args.clients, args.surge_clients)
    print(
        f"device_api: {args.persons:,} people on {db} ({settings.DATABASES['default']['NAME']}), "
        f"{args.clients} clients × {args.duration:g} s, surge {args.surge_clients} × {args.surge_tubes} tubes, "
        f"servers {args.servers}, {args.workers} workers, {os.cpu_count()} cores",
        file=sys.stderr,
    )
    population_load(persons=args.persons, seed=args.seed)
    services.round_open(actor=None, code=ROUND_CODE, name="7:00 surge", scope=[SCOPE])
    communities = list(
        Person.objects.dangerously_all()
        .order_by()
        .values_list("community_id", flat=True)
        .distinct()[:n_sites]
    )
    sites = [f"DS{i:04d}" for i in range(n_sites)]
    summary, _ = services.sites_import(
        table=pa.table(
            {
                "site_code": sites,
                "name": [f"采样点 {i}" for i in range(n_sites)],
                "community_code": [communities[i % len(communities)] for i in range(n_sites)],
            }
        ),
        actor=None,
        source="bench",
    )
    assert summary.accepted == n_sites, summary
    from lianfang.screening.models import Site

    sampler = user_create(username="bench_sampler", password="x" * 16, role="sampler", codes=[SCOPE])
    by_code = {s.code: s for s in Site.objects.filter(code__in=sites)}
    tokens = [services.device_token_issue(user=sampler, name=c, site=by_code[c])[1] for c in sites]
    ids = list(Person.objects.dangerously_all().filter(registered=True).values_list("id_number", flat=True))
    print(f"  set-up   {time.perf_counter() - started:8.2f} s", file=sys.stderr)

    inproc = inprocess(ids, sites[0], tokens[0], args.inprocess, args.profile) if args.inprocess else {}
    connection.close()

    phases: dict = {}
    baseline: dict = {}
    ratio: dict = {}
    cpu_ratio: dict = {}
    servers: dict = {}
    goals: dict = {}
    env_base = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    phase_no = 0
    for config in [c.strip() for c in args.servers.split(",") if c.strip()]:
        # Both servers up at once; the bare and the API phases alternate, so that the noise of a
        # shared machine falls on both alike.
        clear_samples()
        running: dict[str, Server] = {}
        try:
            for app in ("bare", "api"):
                port = _free_port()
                settings_module = "bench.bare_endpoint" if app == "bare" else "lianfang.config.settings"
                server = Server(
                    config,
                    server_argv(config, args.workers, port),
                    {**env_base, "DJANGO_SETTINGS_MODULE": settings_module},
                    port,
                    scratch / f"{config}-{app}.log",
                )
                running[app] = server
                server.start()
                command = server.command()
                servers.setdefault(config, {})[app] = {
                    "command": command,
                    "worker_class": server.worker_class(),
                }
                print(f"  {config:<8} {app:<4} {server.worker_class()}: {command}", file=sys.stderr)
            for mode in ("tubes", "scans"):
                for app in ("bare", "api"):
                    phase_no += 1
                    (baseline if app == "bare" else phases)[f"{config}.{mode}"] = sustained(
                        running[app], app=app, mode=mode, ids=ids, sites=sites, tokens=tokens, args=args,
                        phase_no=phase_no, prefix=f"{config[:2]}{app[0]}{mode[0]}-",
                    )  # fmt: skip
            running.pop("bare").stop()
            if args.surge_clients:
                phase_no += 1
                phases[f"{config}.surge"] = surge(
                    running["api"], ids=ids, sites=sites, tokens=tokens, args=args, phase_no=phase_no,
                    prefix=f"{config[:2]}s-",
                )  # fmt: skip
        finally:
            for server in running.values():
                server.stop()
        for mode in ("tubes", "scans"):
            key = f"{config}.{mode}"
            ratio[key] = round(phases[key]["rps"] / baseline[key]["rps"], 3)
            # Server-side CPU per request (workers + PostgreSQL backends), bare ÷ API: the throughput
            # ratio to expect when the servers have the cores to themselves; less sensitive to noise.
            api_cpu, bare_cpu = (
                p["server_cpu_ms_per_req"] + (p["db_cpu_ms_per_req"] or 0.0)
                for p in (phases[key], baseline[key])
            )
            cpu_ratio[key] = round(bare_cpu / api_cpu, 3) if api_cpu else None
            print(
                f"  ratio    {key:<20} {ratio[key]:6.2f} × the bare endpoint's throughput; server CPU per "
                f"request {api_cpu:.1f} ms against {bare_cpu:.1f} ms (→ {cpu_ratio[key]:.2f})",
                file=sys.stderr,
            )
        surge_result = phases.get(f"{config}.surge")
        goals[config] = {
            "throughput_ge_50pct_of_bare": all(ratio[f"{config}.{m}"] >= 0.5 for m in ("tubes", "scans")),
            "p99_lt_250ms": all(phases[f"{config}.{m}"]["p99_ms"] < 250 for m in ("tubes", "scans")),
            "overload_503_not_timeouts": None
            if surge_result is None
            else surge_result["timeouts"] == 0
            and surge_result["busy_503_without_retry_after"] == 0
            and surge_result["busy_503"] > 0,
            "stored_exactly_once": None if surge_result is None else surge_result["exactly_once"],
        }
        print(f"  goals    {config:<8} {goals[config]}", file=sys.stderr)

    print(
        f"  peak RSS {peak_rss_mb():.0f} MB (bench process); total {time.perf_counter() - started:.0f} s",
        file=sys.stderr,
    )
    out = {
        "bench": "device_api",
        "scale": args.persons,
        "db": db,
        "phases": phases,
        "baseline": baseline,
        "ratio": ratio,
        "peak_rss_mb": peak_rss_mb(),
        "cpu_ratio": cpu_ratio,
        "load": {
            "clients": args.clients,
            "duration_s": args.duration,
            "surge_clients": args.surge_clients,
            "surge_tubes": args.surge_tubes,
            "timeout_s": args.timeout,
            "workers": args.workers,
            "cores": os.cpu_count(),
        },  # fmt: skip
        "servers": servers,
        "inprocess": inproc,
        "goals": goals,
    }
    print(json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    main()
