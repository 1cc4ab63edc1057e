"""A samples import killed half-way leaves nothing half-done: running it again gives exactly the file."""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import zlib
from pathlib import Path

import pytest

from tests.conftest import JJ_COMMUNITY, rid

ROWS = 200_000
POOL = 20
REPEAT_EVERY = 997  # these rows are sent again at the end of the file: duplicates
BAD_EVERY = 4_999  # these rows carry an impossible time: bad_time


def lianfang() -> list[str]:
    script = Path(sys.executable).parent / "lianfang"
    return [str(script)] if script.exists() else [sys.executable, "-m", "lianfang"]


def run(args: list[str], env: dict) -> subprocess.CompletedProcess:
    done = subprocess.run([*lianfang(), *args], capture_output=True, text=True, env=env, check=False)
    assert done.returncode == 0, (args, done.stdout, done.stderr)
    return done


def write_files(folder: Path) -> tuple[Path, set[tuple[str, str]], int, int]:
    """persons.csv (every tenth person registered), sites.csv, big.csv. Returns big.csv, its distinct
    (tube, person) pairs among valid rows, the number of valid rows and of bad rows."""
    day0 = dt.date(1950, 1, 1)
    ids = [
        rid("350582", (day0 + dt.timedelta(days=i // 900)).strftime("%Y%m%d"), f"{100 + i % 900:03d}")
        for i in range(ROWS)
    ]
    with open(folder / "persons.csv", "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id_number", "name", "community_code"])
        w.writerows([ids[i], f"居民{i}", JJ_COMMUNITY] for i in range(0, ROWS, 10))
    (folder / "sites.csv").write_text(f"site_code,name,community_code\nS01,一号点,{JJ_COMMUNITY}\n", "utf-8")
    pairs: set[tuple[str, str]] = set()
    valid = bad = 0
    rows = []
    for i in range(ROWS):
        tube = f"B{i // POOL:06d}"
        at = (
            "2022-02-30 09:00"
            if i % BAD_EVERY == BAD_EVERY - 1
            else f"2022-03-28 {8 + i % 10:02d}:{i % 60:02d}"
        )
        rows.append(["R1", tube, str(POOL), ids[i], f"人{i}", "S01", at])
    rows += [rows[i] for i in range(0, ROWS, REPEAT_EVERY)]
    for row in rows:
        if row[-1].startswith("2022-02-30"):
            bad += 1
        else:
            valid += 1
            pairs.add((row[1], row[3]))
    with open(folder / "big.csv", "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(
            ["round_code", "tube_barcode", "pool_size", "id_number", "name", "site_code", "collected_at"]
        )
        w.writerows(rows)
    return folder / "big.csv", pairs, valid, bad


def registered_ids(folder: Path) -> list[str]:
    with open(folder / "persons.csv", encoding="utf-8", newline="") as f:
        return [r["id_number"] for r in csv.DictReader(f)]


def stored_pairs(db: Path) -> list[tuple[str, str]]:
    con = sqlite3.connect(db)
    try:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        return con.execute(
            "SELECT t.barcode, p.id_number FROM screening_sample s JOIN screening_tube t ON t.id = s.tube_id "
            "JOIN people_person p ON p.id = s.person_id"
        ).fetchall()
    finally:
        con.close()


@pytest.mark.slow
def test_killed_samples_import_then_rerun(tmp_path):
    env = {
        k: v for k, v in os.environ.items() if k not in ("LIANFANG_DATABASE_URL", "DJANGO_SETTINGS_MODULE")
    }
    env["LIANFANG_DATA_DIR"] = str(tmp_path / "data")
    db = tmp_path / "data" / "lianfang.sqlite3"
    big, pairs, valid, bad = write_files(tmp_path)
    run(["init"], env)
    run(["import", "persons", str(tmp_path / "persons.csv")], env)
    started = time.monotonic()
    run(["import", "sites", str(tmp_path / "sites.csv")], env)
    startup = time.monotonic() - started  # a command's fixed cost: interpreter, Django, a tiny import
    # The round started before the file's first sample (a later start makes them before_round).
    run(["round", "open", "R1", "--scope", "350582", "--start", "2022-03-28 06:00"], env)

    proc = subprocess.Popen(
        [*lianfang(), "import", "samples", str(big), "--json"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        time.sleep(startup + 1.0)
        still_running = proc.poll() is None
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        out, err = proc.communicate(timeout=60)
    assert still_running, ("the import finished before it could be killed", out, err)
    assert proc.returncode == -signal.SIGKILL
    before = stored_pairs(db)
    assert len(before) in (0, len(pairs))  # all or nothing, never a part

    rerun = run(["import", "samples", str(big), "--json"], env)
    summary = json.loads(rerun.stdout.strip().splitlines()[-1])
    after = stored_pairs(db)
    assert len(after) == len(set(after)) == len(pairs)
    assert set(after) == pairs
    assert summary["read"] == ROWS + len(range(0, ROWS, REPEAT_EVERY))
    assert (
        summary["read"] == summary["accepted"] + summary["duplicate"] + summary["held"] + summary["rejected"]
    )
    assert summary["reasons"] == {"bad_time": bad}
    assert summary["accepted"] == len(pairs) - len(before)
    assert summary["duplicate"] == valid - summary["accepted"]
    con = sqlite3.connect(db)
    try:
        assert con.execute("SELECT COUNT(*) FROM screening_tube").fetchone()[0] == len({t for t, _ in pairs})
        # Every person exists once: the registered, and those sampled but not registered, created unregistered.
        registered = ROWS // 10
        unregistered = len({p for _, p in pairs} - {p for p in registered_ids(tmp_path)})
        assert con.execute("SELECT COUNT(*), SUM(registered) FROM people_person").fetchone() == (
            registered + unregistered,
            registered,
        )
    finally:
        con.close()


@pytest.mark.django_db(transaction=True)
def test_a_batch_of_nearly_big_batch_tubes_takes_its_locks(settings):
    """1,664 to BIG_BATCH tubes once failed on PostgreSQL: one SELECT of a lock per tube is more
    than a select list may hold. The locks are taken in statements of at most 1,000, in order."""
    from django.db import connection, transaction

    from lianfang.screening.services import ingest

    if connection.vendor != "postgresql":
        pytest.skip("advisory locks are PostgreSQL's; SQLite serialises writers by itself")
    barcodes = [f"T{i:06d}" for i in range(ingest.BIG_BATCH)]
    with transaction.atomic():
        ingest._lock_ingest(barcodes)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()"
            )
            held = cursor.fetchone()[0]
    assert held == len({zlib.crc32(b.encode()) for b in barcodes}) + 1  # every tube and the shared lock
