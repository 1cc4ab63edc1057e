"""PostgreSQL restarted under load (issue 15, item 4): a cluster of the test's own, restarted (and
then stopped for a few seconds) while sampling devices send. During the outage the API answers 503
with Retry-After, never a 500; afterwards the same server processes serve again (connection health
checks, no restart of the app); every tube a device was told was stored is stored exactly once."""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
from pathlib import Path

import pytest
from bench._stack import Device, PgCluster, Stack, pg_binaries

from tests.conftest import JJ_COMMUNITY
from tests.faults.conftest import just_now, people

pytestmark = pytest.mark.slow

DEVICES = 3


@pytest.fixture
def cluster():
    from django.db import connection

    if connection.vendor != "postgresql":
        # Its cluster is its own, whatever the suite's database: it runs once, in CI's PostgreSQL pass.
        pytest.skip("a PostgreSQL drill: runs when the suite runs on PostgreSQL (scripts/with_postgres.sh)")
    if pg_binaries() is None:
        pytest.skip("PostgreSQL's server binaries (/usr/lib/postgresql/*/bin/initdb) are not installed")
    folder = Path(tempfile.mkdtemp(prefix="lianfang-faults-pg-"))  # outside pytest's 0700 folders
    folder.chmod(0o755)
    pg = PgCluster(folder / "cluster")
    pg.init()
    pg.start()
    yield pg
    pg.stop()
    shutil.rmtree(folder, ignore_errors=True)


def test_requests_during_a_restart_answer_503_and_the_app_recovers_by_itself(cluster, tmp_path):
    site = Stack(tmp_path / "pg", cluster.create_database("lianfang"))
    try:
        ids = people(3000)
        tokens = site.prepare(people=ids, sites=[f"S{i}" for i in range(DEVICES)], community=JJ_COMMUNITY)
        server = site.serve(workers=2, threads=4)
        workers_before = sorted(server.workers())
        stop = threading.Event()
        sent: list[list[tuple[str, list[str]]]] = [[] for _ in range(DEVICES)]
        devices = [Device(server.port, tokens[d], timeout=30) for d in range(DEVICES)]
        errors: list[BaseException] = []

        def run(d: int) -> None:
            n = 0
            try:
                while not stop.is_set():
                    members = [ids[(d * 1000 + n * 10 + j) % len(ids)] for j in range(10)]
                    barcode = f"P{d}-{n:05d}"
                    body = {
                        "round_code": "R1",
                        "tube_barcode": barcode,
                        "pool_size": 10,
                        "members": [{"id_number": m, "collected_at": just_now()} for m in members],
                    }
                    out = devices[d].send("/api/v1/screening/tubes", body, give_up_after=120)
                    assert out["accepted"] + out["duplicate"] == 10, out
                    sent[d].append((barcode, members))
                    n += 1
            except BaseException as exc:  # noqa: BLE001 — reported by the main thread
                errors.append(exc)

        threads = [threading.Thread(target=run, args=(d,)) for d in range(DEVICES)]
        for t in threads:
            t.start()
        time.sleep(3)
        before_restart = sum(len(s) for s in sent)
        cluster.restart("fast")
        time.sleep(2)
        # A longer outage: stopped for 4 s, so that devices certainly meet it.
        outage_began = time.monotonic()
        cluster.stop_for(4)
        outage = time.monotonic() - outage_began
        after_outage = sum(len(s) for s in sent)
        time.sleep(5)
        stop.set()
        for t in threads:
            t.join(timeout=180)
        assert not errors, errors
        assert not any(t.is_alive() for t in threads)

        answers = [a for d in devices for a in d.answers]
        statuses = {s for s, _ in answers}
        assert statuses <= {200, 503}, sorted(statuses)  # never a 500, never a dropped connection
        busy = [r for s, r in answers if s == 503]
        assert busy, "no request met the outage"
        assert all(r is not None and int(r) >= 1 for r in busy)  # each 503 said when to come back
        assert before_restart > 0 and sum(len(s) for s in sent) > after_outage  # served again after
        assert sorted(server.workers()) == workers_before  # the same processes: the app was not restarted
        assert server.proc.poll() is None

        expected = {(b, m) for per in sent for b, members in per for m in members}
        stored = site.stored_pairs()
        assert len(stored) == len(set(stored)) and set(stored) == expected
        assert site.integrity() == "ok"
        print(
            f"pg restart: {len(expected) // 10} tubes stored, {len(busy)} answers 503 over a {outage:.1f} s "
            f"outage and a restart, {len(answers)} requests"
        )
    finally:
        site.stop_all()
