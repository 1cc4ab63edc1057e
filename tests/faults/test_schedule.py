"""The timed jobs run by real background workers (``lianfang worker``): two workers beside each
other run each interval of every job once; a worker started with ``--no-schedule`` runs none."""

from __future__ import annotations

import os
import signal
import time

import pytest

pytestmark = pytest.mark.slow

JOBS = {"db.statistics", "problems.raise", "livelihood.escalate", "zones.proposals"}


def _runs(site) -> list[tuple]:
    return site.query("SELECT name, slot, worker, finished_at, error FROM imports_periodicrun ORDER BY id")


def test_two_workers_run_each_interval_once_and_a_no_schedule_worker_none(stack):
    site = stack("schedule")
    site.run("init")
    quiet = site.start("worker", "--no-schedule", "--interval", "0.5", "--no-startup-delay", log="quiet.log")
    time.sleep(15)  # longer than a scheduler tick (10 s): a scheduling worker would have run by now
    assert _runs(site) == []
    workers = [
        site.start("worker", "--interval", "0.5", "--no-startup-delay", log=f"worker{k}.log") for k in (1, 2)
    ]
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        runs = _runs(site)
        if {r[0] for r in runs if r[3] is not None} >= JOBS:
            break
        time.sleep(0.5)
    else:
        raise AssertionError(f"the jobs did not all run: {_runs(site)}")
    for proc in (quiet, *workers):
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
    runs = _runs(site)
    assert len({(name, slot) for name, slot, *_ in runs}) == len(runs)  # no interval twice
    assert all(error == "" for *_, error in runs), runs
    assert not {worker for _, _, worker, _, _ in runs} & {"", "cli"}  # the workers ran them
    logs = "".join((site.folder / f"worker{k}.log").read_text() for k in (1, 2))
    assert "periodic problems.raise: raised" in logs
    assert "periodic" not in (site.folder / "quiet.log").read_text()
