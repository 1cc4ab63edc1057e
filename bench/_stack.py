"""A whole Lianfang installation in subprocesses, for the fault drills and the soak (no Django here).

``Stack`` is one database (a SQLite data folder, or a PostgreSQL URL) with the real commands run
against it: ``lianfang init``, imports, ``lianfang serve`` (gunicorn), ``lianfang worker``.
``PgCluster`` is a PostgreSQL server of its own (``initdb`` + ``pg_ctl`` on a free port in a
temporary folder), so that a test may restart it without touching anyone else's database.
``Device`` posts to the device API as a sampling device does: a 503 or a dropped connection is
retried after Retry-After (or a second), the batch unchanged, until it is answered 200.
"""

from __future__ import annotations

import glob
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
SAMPLER = "faults_sampler"
PASSWORD = "faults-drill-42"
SAMPLE_HEADER = ["round_code", "tube_barcode", "pool_size", "id_number", "name", "site_code", "collected_at"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def pg_binaries() -> Path | None:
    """The newest PostgreSQL server binaries on the machine (Debian's layout), or None."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parent.parent.name)
    )
    return Path(found[-1]).parent if found else None


class PgCluster:
    """A PostgreSQL cluster in ``folder`` on a free port: ``start``, ``restart``, ``stop``."""

    def __init__(self, folder: Path):
        self.bin = pg_binaries()
        if self.bin is None:
            raise FileNotFoundError("no /usr/lib/postgresql/*/bin/initdb on this machine")
        self.folder = Path(folder)
        self.data = self.folder / "pgdata"
        self.port = free_port()
        self.log = self.folder / "postgres.log"
        self._as_postgres = os.geteuid() == 0  # the server refuses to run as root

    def _run(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess:
        cmd = [str(self.bin / argv[0]), *argv[1:]]
        if self._as_postgres:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        return subprocess.run(cmd, capture_output=True, text=True, check=check, timeout=120)

    def init(self) -> PgCluster:
        self.folder.mkdir(parents=True, exist_ok=True)
        if self._as_postgres:
            shutil.chown(self.folder, "postgres")
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
        return self

    def _options(self) -> str:
        return (
            f"-p {self.port} -k {self.folder} -c listen_addresses={HOST} -c fsync=off -c max_connections=60"
        )

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", self._options(), "-w", "start")

    def restart(self, mode: str = "fast") -> None:
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-l",
            str(self.log),
            "-m",
            mode,
            "-o",
            self._options(),
            "-w",
            "restart",
        )  # the log file, not our pipe: the server outlives pg_ctl

    def stop_for(self, seconds: float, mode: str = "fast") -> None:
        """An outage: stopped, then started again after ``seconds``."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")
        time.sleep(seconds)
        self.start()

    def stop(self) -> None:
        if self.data.exists():
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop", check=False)

    def url(self, dbname: str = "postgres") -> str:
        return f"postgres://postgres@{HOST}:{self.port}/{dbname}"

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


def lianfang() -> list[str]:
    return [sys.executable, "-m", "lianfang"]


class Stack:
    """One database and the commands run against it."""

    def __init__(self, folder: Path, db_url: str | None = None, data_dir: Path | None = None):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.db_url = db_url
        self.data_dir = Path(data_dir) if data_dir else self.folder / "data"
        self.env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("LIANFANG_")
            and k not in ("DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE")
        }
        self.env.update(
            LIANFANG_DATA_DIR=str(self.data_dir),
            LIANFANG_PRODUCTION="true",
            LIANFANG_SECRET_KEY="faults-drill-" + "x" * 40,
            LIANFANG_ALLOWED_HOSTS="127.0.0.1,localhost",
            LIANFANG_SECURE_COOKIES="false",
            LIANFANG_SSL_REDIRECT="false",
            PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT / "src"), os.environ.get("PYTHONPATH")])),
        )
        if db_url:
            self.env["LIANFANG_DATABASE_URL"] = db_url
        self.procs: list[subprocess.Popen] = []

    @property
    def sqlite_path(self) -> Path:
        return self.data_dir / "lianfang.sqlite3"

    def run(self, *args, ok: bool = True, timeout: float = 600, env: dict | None = None):
        done = subprocess.run(
            [*lianfang(), *map(str, args)],
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=ROOT,
        )
        if ok and done.returncode != 0:
            raise RuntimeError(f"lianfang {' '.join(map(str, args))}: {done.stdout}{done.stderr}")
        return done

    def start(self, *args, log: str, env: dict | None = None) -> subprocess.Popen:
        with open(self.folder / log, "ab") as out:
            proc = subprocess.Popen(
                [*lianfang(), *map(str, args)],
                env={**self.env, **(env or {})},
                stdout=out,
                stderr=out,
                cwd=ROOT,
                start_new_session=True,
            )
        self.procs.append(proc)
        return proc

    def python(self, code: str) -> str:
        """Run Python with Django set up against this database (``lianfang shell -c``)."""
        return self.run("shell", "-c", code).stdout

    # ---- set-up --------------------------------------------------------------------------

    def prepare(
        self,
        *,
        people: list[str],
        sites: list[str],
        community: str,
        round_code: str = "R1",
        users: dict[str, str] | None = None,
        labs: list[str] = (),
    ) -> list[str]:
        """In one process (Django's start-up is seconds on a busy machine): ``lianfang init``, the registry, sites, labs, a round open since 00:00 today over the community's county, a
        sampler and ``users`` (name → role, jurisdiction the county, password ``PASSWORD``);
        returns one device token per site."""
        import csv

        with open(self.folder / "persons.csv", "w", encoding="utf-8", newline="") as f:
            w = csv.writer(f)
            w.writerow(["id_number", "name", "community_code"])
            w.writerows([p, f"居民{i}", community] for i, p in enumerate(people))
        county = community[:6]
        code = f"""
import datetime as dt, json
import pyarrow as pa
from lianfang.cli import _init
_init(verbose=False)  # `lianfang init`, in this process
from lianfang.accounts.services import user_create
from lianfang.imports.services import import_file
from lianfang.screening import services
from lianfang.screening.models import Site
s, _ = services.sites_import(table=pa.table({{"site_code": {sites!r}, "name": {sites!r},
    "community_code": [{community!r}] * {len(sites)}}}), actor=None, source="drill")
assert s.accepted == {len(sites)}, s
if {list(labs)!r}:
    s, _ = services.labs_import(table=pa.table({{"lab_code": {list(labs)!r}, "name": {list(labs)!r}}}),
        actor=None, source="drill")
    assert s.accepted == {len(labs)}, s
s = import_file(kind="persons", path={str(self.folder / "persons.csv")!r}, actor=None)
assert s.accepted == {len(people)}, s
today = dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).replace(hour=0, minute=0, second=0, microsecond=0)
services.round_open(actor=None, code={round_code!r}, name={round_code!r}, scope=[{county!r}], starts_at=today)
sampler = user_create(username={SAMPLER!r}, password={PASSWORD!r}, role="sampler", codes=[{county!r}],
    display_name="drill")
for name, role in {dict(users or {})!r}.items():
    user_create(username=name, password={PASSWORD!r}, role=role, codes=[{county!r}], display_name=name)
by_code = {{x.code: x for x in Site.objects.filter(code__in={sites!r})}}
print(json.dumps([services.device_token_issue(user=sampler, name=c, site=by_code[c])[1] for c in {sites!r}]))
"""
        return json.loads(self.python(code).strip().splitlines()[-1])

    # ---- processes -----------------------------------------------------------------------

    def serve(self, *, workers: int = 2, threads: int = 8, port: int | None = None) -> Server:
        port = port or free_port()
        proc = self.start(
            "serve", "--workers", workers, "--threads", threads, "--port", port, log="serve.log"
        )
        server = Server(proc, port, self.folder / "serve.log")
        server.wait_ready(workers)
        return server

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)

    # ---- reading the database directly ---------------------------------------------------

    def query(self, sql: str) -> list[tuple]:
        if self.db_url:
            import psycopg

            with psycopg.connect(self.db_url.replace("postgres://", "postgresql://", 1)) as conn:
                return conn.execute(sql).fetchall()
        import sqlite3

        con = sqlite3.connect(self.sqlite_path, timeout=60)
        try:
            return con.execute(sql).fetchall()
        finally:
            con.close()

    def writing(self) -> bool:
        """Whether another connection is inside a writing transaction now (SQLite: the write lock
        is held; PostgreSQL: a backend of this database is in a transaction)."""
        if self.db_url:
            import psycopg

            with psycopg.connect(
                self.db_url.replace("postgres://", "postgresql://", 1), autocommit=True
            ) as conn:
                return bool(
                    conn.execute(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                        "AND pid <> pg_backend_pid() AND xact_start IS NOT NULL "
                        "AND backend_type = 'client backend' AND backend_xid IS NOT NULL"
                    ).fetchone()[0]
                )
        import sqlite3

        con = sqlite3.connect(self.sqlite_path, timeout=0, isolation_level=None)
        try:
            con.execute("BEGIN IMMEDIATE")
            con.execute("ROLLBACK")
            return False
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                return True
            raise
        finally:
            con.close()

    def stored_pairs(self) -> list[tuple[str, str]]:
        return self.query(
            "SELECT t.barcode, p.id_number FROM screening_sample s JOIN screening_tube t ON t.id = s.tube_id "
            "JOIN people_person p ON p.id = s.person_id"
        )

    def integrity(self) -> str:
        """'ok', or what the database's own checker found: SQLite's integrity_check, PostgreSQL's
        amcheck over every B-tree index of the public schema."""
        if not self.db_url:
            rows = self.query("PRAGMA integrity_check")
            return "ok" if rows == [("ok",)] else "; ".join(r[0] for r in rows[:20])
        import psycopg

        with psycopg.connect(self.db_url.replace("postgres://", "postgresql://", 1), autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS amcheck")
            indexes = conn.execute(
                "SELECT c.oid::regclass::text FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                "JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_am a ON a.oid = c.relam "
                "WHERE n.nspname = 'public' AND a.amname = 'btree' AND c.relpersistence = 'p'"
            ).fetchall()
            problems = []
            for (index,) in indexes:
                try:
                    conn.execute("SELECT bt_index_check(%s::regclass, true)", (index,))
                except psycopg.Error as exc:
                    problems.append(f"{index}: {exc}")
            return "ok" if not problems else "; ".join(problems[:20])


def scratch(db: str, name: str) -> Stack:
    """A Stack on a scratch database: SQLite in a new temporary folder, or, for a PostgreSQL URL
    ``…/base``, the database ``base_<name>`` dropped and created again."""
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix=f"{name}-"))
    if db == "sqlite":
        return Stack(folder)
    import psycopg

    base, _, dbname = db.rpartition("/")
    dbname = f"{dbname or 'lianfang'}_{name}"
    with psycopg.connect(f"{base}/postgres".replace("postgres://", "postgresql://", 1), autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
        c.execute(f'CREATE DATABASE "{dbname}"')
    return Stack(folder, f"{base}/{dbname}")


def children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    out.append(int(entry.name))
            except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
                pass
    return out


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except (FileNotFoundError, ProcessLookupError):
        return None
    return None


class Server:
    """``lianfang serve``: the gunicorn master (``proc``) and its workers."""

    def __init__(self, proc: subprocess.Popen, port: int, log: Path):
        self.proc, self.port, self.log = proc, port, log

    def workers(self) -> list[int]:
        return children(self.proc.pid)

    def wait_ready(self, workers: int, timeout: float = 120) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server exited: {self.log.read_text()[-3000:]}")
            try:
                conn = http.client.HTTPConnection(HOST, self.port, timeout=5)
                conn.request("GET", "/api/v1/me")
                conn.getresponse().read()
                conn.close()
                if len(self.workers()) >= workers:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"the server did not answer on port {self.port}")

    def worker_serving(self, client_port: int) -> int | None:
        """The worker process holding the accepted connection from ``client_port``."""
        inodes = set()
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            try:
                lines = Path(table).read_text().splitlines()[1:]
            except FileNotFoundError:
                continue
            for line in lines:
                fields = line.split()
                local, remote = fields[1], fields[2]
                if (
                    int(local.rsplit(":", 1)[1], 16) == self.port
                    and int(remote.rsplit(":", 1)[1], 16) == client_port
                ):
                    inodes.add(fields[9])
        for pid in self.workers():
            try:
                for fd in Path(f"/proc/{pid}/fd").iterdir():
                    try:
                        target = os.readlink(fd)
                    except OSError:
                        continue
                    if target.startswith("socket:[") and target[8:-1] in inodes:
                        return pid
            except (FileNotFoundError, PermissionError):
                continue
        return None


class Device:
    """A sampling device: posts a batch until it is answered 200, as the real one retries its buffer."""

    def __init__(self, port: int, token: str, timeout: float = 60):
        self.port, self.token, self.timeout = port, token, timeout
        self.answers: list[tuple[int, str | None]] = []  # (status or 0 for no answer, Retry-After)

    def post_once(self, path: str, body: dict, on_sent=None) -> tuple[int, str | None, dict | str]:
        conn = http.client.HTTPConnection(HOST, self.port, timeout=self.timeout)
        try:
            conn.connect()
            if on_sent is not None:
                on_sent(conn.sock.getsockname()[1])
            conn.request(
                "POST",
                path,
                json.dumps(body).encode(),
                {"Content-Type": "application/json", "Authorization": f"Bearer {self.token}"},
            )
            resp = conn.getresponse()
            data = resp.read()
            try:
                payload = json.loads(data)
            except ValueError:
                payload = data.decode("utf-8", "replace")
            return resp.status, resp.getheader("Retry-After"), payload
        finally:
            conn.close()

    def send(self, path: str, body: dict, *, give_up_after: float = 300, on_sent=None) -> dict:
        """Post until 200; returns the 200 answer. Anything but 200, 503 or no answer raises.
        ``on_sent(port)`` is told each attempt's local port once it is connected."""
        started = time.monotonic()
        while True:
            try:
                status, retry_after, payload = self.post_once(path, body, on_sent=on_sent)
            except (OSError, http.client.HTTPException):
                status, retry_after, payload = 0, None, None
            self.answers.append((status, retry_after))
            if status == 200:
                return payload
            if status not in (0, 503):
                raise AssertionError(f"{path} answered {status}: {payload}")
            if time.monotonic() - started > give_up_after:
                raise AssertionError(f"{path}: no 200 within {give_up_after} s ({self.answers[-5:]})")
            time.sleep(float(retry_after) if retry_after else 1.0)
