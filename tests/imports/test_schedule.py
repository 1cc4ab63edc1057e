"""The timed jobs (imports/schedule.py): each interval runs once across workers, a failing job is
recorded and does not stop the others, the apps' real jobs run, and the CLI lists and runs them."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection
from django.utils import timezone

from lianfang.core.plugins import Periodic, periodic_jobs
from lianfang.imports.models import PeriodicRun
from lianfang.imports.schedule import run_due
from tests.conftest import JJ_COMMUNITY

CALLS: list[dt.datetime] = []


def counted(now: dt.datetime) -> str:
    CALLS.append(now)
    return f"call {len(CALLS)}"


def broken(now: dt.datetime) -> str:
    raise ValueError("数据库里没有这张表 / no such table")


COUNTED = Periodic(name="test.counted", run="tests.imports.test_schedule.counted", every_seconds=60)
BROKEN = Periodic(name="test.broken", run="tests.imports.test_schedule.broken", every_seconds=60)
START = dt.datetime(2022, 3, 28, 8, 0, 5, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _calls():
    CALLS.clear()
    yield
    CALLS.clear()


def test_each_interval_runs_once(db):
    assert [r.outcome for r in run_due(now=START, worker="a", jobs=[COUNTED])] == ["call 1"]
    assert run_due(now=START + dt.timedelta(seconds=50), worker="b", jobs=[COUNTED]) == []  # same minute
    assert [r.name for r in run_due(now=START + dt.timedelta(seconds=60), worker="b", jobs=[COUNTED])] == [
        "test.counted"
    ]
    assert CALLS == [START, START + dt.timedelta(seconds=60)]
    runs = list(PeriodicRun.objects.order_by("slot").values_list("worker", "outcome", "error"))
    assert runs == [("a", "call 1", ""), ("b", "call 2", "")]
    assert all(r.finished_at is not None for r in PeriodicRun.objects.all())


def test_a_failing_job_is_recorded_and_the_others_still_run(db):
    ran = run_due(now=START, worker="a", jobs=[BROKEN, COUNTED])
    assert [(r.name, r.outcome) for r in ran] == [("test.broken", ""), ("test.counted", "call 1")]
    assert "ValueError" in ran[0].error and "no such table" in ran[0].error
    failed = PeriodicRun.objects.get(name="test.broken")
    assert "no such table" in failed.error and failed.finished_at is not None
    # The next interval tries it again.
    assert [r.name for r in run_due(now=START + dt.timedelta(minutes=1), jobs=[BROKEN])] == ["test.broken"]


def test_old_runs_are_forgotten(db):
    run_due(now=START, jobs=[COUNTED])
    run_due(now=START + dt.timedelta(days=8), jobs=[COUNTED])
    assert list(PeriodicRun.objects.values_list("started_at", flat=True)) == [START + dt.timedelta(days=8)]


APP_JOBS = ("db.statistics", "problems.raise", "livelihood.escalate", "zones.proposals")


def test_the_apps_state_their_jobs_and_they_run(db):
    assert set(APP_JOBS) <= {j.name for j in periodic_jobs()}
    ran = {r.name: r for r in run_due(now=timezone.now())}
    for name in APP_JOBS:
        assert ran[name].error == "", ran[name]
    assert ran["livelihood.escalate"].outcome == "escalated 0"
    assert ran["problems.raise"].outcome.startswith("raised ")


def test_a_late_urgent_request_is_escalated_by_the_schedule(db):
    from lianfang.livelihood.models import Request
    from lianfang.livelihood.services import request_file

    request, _ = request_file(
        actor=None,
        source="worker",
        community_code=JJ_COMMUNITY,
        name="王芳",
        phone="13800001111",
        address="3号楼2单元501",
        kind="dialysis",  # urgent: its minutes ran out long ago
        detail="每周三透析",
        at=START,
    )
    ran = {r.name: r for r in run_due(now=timezone.now())}
    assert ran["livelihood.escalate"].outcome == "escalated 1"
    assert Request.objects.get(pk=request.pk).escalated_at is not None


def test_the_cli_runs_what_is_due_then_nothing_and_lists_the_runs(db, capsys):
    from lianfang.cli import main

    with pytest.raises(SystemExit) as done:
        main(["schedule", "run"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert "problems.raise: raised" in out and "livelihood.escalate: escalated 0" in out
    with pytest.raises(SystemExit):
        main(["schedule", "run"])
    again = capsys.readouterr().out  # within the same minute: nothing; across its edge: only the 60 s job
    assert "nothing due" in again or again.strip().splitlines() == ["livelihood.escalate: escalated 0"]
    with pytest.raises(SystemExit):
        main(["schedule", "list"])
    listing = capsys.readouterr().out
    assert "problems.raise" in listing and "every   300s" in listing and "never run" not in listing


def test_two_workers_at_once_run_an_interval_once(transactional_db):
    if connection.vendor != "postgresql":
        pytest.skip(
            "concurrency is tested on PostgreSQL (the in-memory SQLite test database is one connection)"
        )
    barrier, results, errors = threading.Barrier(4), [], []

    def work(k: int) -> None:
        try:
            barrier.wait()
            results.extend(run_due(now=START, worker=f"w{k}", jobs=[COUNTED]))
        except Exception as exc:  # noqa: BLE001 - surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(results) == 1 and len(CALLS) == 1
    assert PeriodicRun.objects.count() == 1


def test_stale_statistics_are_refreshed_on_postgresql(transactional_db):
    """A table fed a few rows at a time is analysed by the timed job once enough of it changed (the
    soak's samples, never analysed with autovacuum off, made an export take 569 s); then it is
    left alone until it changes again."""
    from lianfang.core.db import STALE_ROWS, stale_statistics_refresh

    if connection.vendor != "postgresql":
        assert stale_statistics_refresh() == "no statistics to refresh on this database"
        return

    def analysed() -> bool:
        with connection.cursor() as c:
            c.execute("SELECT pg_stat_clear_snapshot()")
            c.execute(
                "SELECT last_analyze IS NOT NULL FROM pg_stat_user_tables WHERE relname = 'stats_probe'"
            )
            return c.fetchone()[0]

    def insert(rows: int) -> None:
        with connection.cursor() as c:
            c.execute("INSERT INTO stats_probe SELECT generate_series(1, %s)", [rows])
            c.execute("SELECT pg_stat_force_next_flush()")
        with connection.cursor() as c:
            c.execute("SELECT 1")  # a new transaction: the counts of the last one are flushed

    with connection.cursor() as c:
        c.execute("CREATE TABLE stats_probe (x integer)")
    try:
        insert(STALE_ROWS // 2)
        assert "stats_probe" not in stale_statistics_refresh() and not analysed()
        insert(STALE_ROWS)
        assert "stats_probe" in stale_statistics_refresh()
        assert analysed()
        assert "stats_probe" not in stale_statistics_refresh()  # fresh now: left alone
    finally:
        with connection.cursor() as c:
            c.execute("DROP TABLE stats_probe")
