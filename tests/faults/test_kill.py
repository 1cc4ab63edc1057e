"""Killed processes (issue 15, item 3): ``kill -9`` of a gunicorn worker in the middle of writing a
device batch, and of the background worker in the middle of an upload job. Nothing is lost,
doubled or left half-done; the device's retry stores the batch once; the job is run again by the
next worker (never left "running") and running it once more changes nothing. (The CLI import
killed half-way: tests/screening/test_crash.py.)"""

from __future__ import annotations

import csv
import json
import os
import signal
import threading
import time

import pytest
from bench._stack import Device

from tests.conftest import JJ_COMMUNITY
from tests.faults.conftest import just_now, people

pytestmark = pytest.mark.slow


def _wait(predicate, timeout: float, what: str, every: float = 0.005):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_gunicorn_worker_killed_while_writing_a_batch_the_retry_stores_it_once(stack):
    site = stack("kill_web")
    ids = people(6000)
    token = site.prepare(people=ids[:3000], sites=["S01"], community=JJ_COMMUNITY)[0]
    server = site.serve(workers=2, threads=4)
    when = just_now()
    # The biggest batch a device may send (MAX_BATCH rows): 500 tubes of 10, half the people
    # unregistered visitors (created by the batch), so that its transaction lasts long enough.
    rows = [
        {
            "round_code": "R1",
            "tube_barcode": f"K{i // 10:05d}",
            "pool_size": 10,
            "id_number": ids[(i * 7) % len(ids)],
            "collected_at": when,
        }
        for i in range(5000)
    ]
    expected = {(r["tube_barcode"], r["id_number"]) for r in rows}
    assert len(expected) == len(rows)
    device = Device(server.port, token, timeout=120)
    ports: list[int] = []
    answer: dict = {}

    def send():
        answer["out"] = device.send("/api/v1/screening/samples", {"rows": rows}, on_sent=ports.append)

    sender = threading.Thread(target=send)
    sender.start()
    # The attempt that is writing now (an earlier one may have been answered 503: the device
    # sends it again) is the one whose worker is killed.
    _wait(lambda: ports, 30, "the device to connect")
    _wait(site.writing, 120, "the batch's transaction to start writing")
    worker = _wait(lambda: server.worker_serving(ports[-1]), 30, "the worker writing the batch")
    os.kill(worker, signal.SIGKILL)
    sender.join(timeout=300)
    assert not sender.is_alive()

    statuses = [s for s, _ in device.answers]
    assert statuses.count(0) == 1, device.answers  # the attempt killed with its worker: no answer
    assert statuses[-1] == 200 and set(statuses) <= {0, 503, 200}, device.answers  # never a 500
    out = answer["out"]
    assert out["read"] == 5000 and out["accepted"] + out["duplicate"] == 5000
    stored = site.stored_pairs()
    assert len(stored) == len(set(stored)) == 5000 and set(stored) == expected
    assert site.query("SELECT count(*) FROM screening_tube")[0][0] == 500
    assert site.query("SELECT count(*) FROM people_person")[0][0] == len(
        {r["id_number"] for r in rows} | set(ids[:3000])
    )
    assert site.integrity() == "ok"
    # The master replaced the killed worker, and a second send is all duplicates.
    assert worker not in server.workers()
    again = device.send("/api/v1/screening/samples", {"rows": rows})
    assert (again["accepted"], again["duplicate"]) == (0, 5000)


ROWS = 60_000


def _samples_file(folder, ids: list[str]) -> tuple[str, set[tuple[str, str]]]:
    when = just_now()
    pairs = set()
    path = folder / "upload.csv"
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["round_code", "tube_barcode", "pool_size", "id_number", "site_code", "collected_at"])
        for i in range(ROWS):
            row = ["R1", f"U{i // 10:06d}", "10", ids[i], "S01", when]
            pairs.add((row[1], row[3]))
            w.writerow(row)
    return str(path), pairs


def _job(site, job_id: str) -> dict:
    return json.loads(
        site.python(
            "import json; from lianfang.imports.models import ImportJob; "
            f"j = ImportJob.objects.get(pk={job_id!r}); "
            "print(json.dumps({'status': j.status, 'summary': j.summary, 'error': j.error}))"
        )
        .strip()
        .splitlines()[-1]
    )


def _status(site, job_id: str) -> str | None:
    key = job_id if site.db_url else job_id.replace("-", "")  # SQLite keeps a UUID as 32 hex digits
    rows = site.query(f"SELECT status FROM imports_importjob WHERE id = '{key}'")
    return rows[0][0] if rows else None


def test_the_background_worker_killed_mid_upload_the_job_is_run_again_once(stack):
    site = stack("kill_worker")
    ids = people(ROWS)
    site.prepare(people=ids[: ROWS // 10], sites=["S01"], community=JJ_COMMUNITY)
    path, pairs = _samples_file(site.folder, ids)
    job_id = (
        site.python(
            "from django.core.files.uploadedfile import SimpleUploadedFile; "
            "from lianfang.accounts.models import User; from lianfang.accounts.scoping import Actor; "
            "from lianfang.imports.services import import_job_create; "
            f"data = open({path!r}, 'rb').read(); "
            "actor = Actor.for_user(User.objects.get(username='faults_sampler'), ip='127.0.0.1'); "
            "print(import_job_create(actor=actor, uploaded_file=SimpleUploadedFile('upload.csv', data), kind='samples').id)"
        )
        .strip()
        .splitlines()[-1]
    )

    worker = site.start("worker", "--interval", "0.1", "--no-startup-delay", log="worker1.log")
    _wait(lambda: _status(site, job_id) == "running", 120, "the job to start", every=0.02)
    _wait(site.writing, 120, "the import to write")
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait(timeout=30)
    assert _status(site, job_id) == "running"  # what the dead worker left behind
    assert site.stored_pairs() == []  # its transaction died with it

    again = site.start("worker", "--interval", "0.1", "--no-startup-delay", log="worker2.log")
    _wait(lambda: _status(site, job_id) in ("done", "failed"), 300, "the job to finish", every=0.2)
    job = _job(site, job_id)
    assert job["status"] == "done", job
    assert "lost its worker: requeued" in (site.folder / "worker2.log").read_text()
    summary = job["summary"]
    assert summary["read"] == ROWS == summary["accepted"], summary
    stored = site.stored_pairs()
    assert len(stored) == len(set(stored)) == ROWS and set(stored) == pairs
    assert site.integrity() == "ok"

    # Running it again changes nothing: the finished job is left alone.
    site.python(f"from lianfang.imports.services import import_job_run; import_job_run(job_id={job_id!r})")
    assert _job(site, job_id) == job
    assert sorted(site.stored_pairs()) == sorted(stored)
    os.killpg(again.pid, signal.SIGTERM)
    again.wait(timeout=30)
