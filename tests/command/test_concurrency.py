"""Concurrent runs on PostgreSQL: a briefing is frozen once per cutoff and a correction carried by
one briefing only; raising problems from several processes keeps one open problem per key."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection
from django.utils import timezone

from lianfang.command.models import Briefing, Problem
from lianfang.command.services.briefing import briefing_publish, parse_cutoff
from lianfang.command.services.problems import problems_raise
from lianfang.core.facts import Overdue
from tests.command.test_briefing import case
from tests.conftest import LC_COMMUNITY


def _together(n: int, work) -> list:
    barrier, errors = threading.Barrier(n), []

    def run(k: int) -> None:
        try:
            barrier.wait()
            work(k)
        except Exception as exc:  # noqa: BLE001 - surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(k,)) for k in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


@pytest.fixture
def postgres_only(transactional_db):
    if connection.vendor != "postgresql":
        pytest.skip(
            "concurrency is tested on PostgreSQL (the in-memory SQLite test database is one connection)"
        )


def test_concurrent_first_runs_freeze_once_and_carry_a_correction_once(postgres_only, facts):
    briefing_publish(cutoff=parse_cutoff("2022-03-25"))
    facts.CASES.append(
        case("C101", reported="2022-03-24 12:00:00", community=LC_COMMUNITY)
    )  # late for the 24th
    cutoffs = ["2022-03-26", "2022-03-26", "2022-03-27", "2022-03-27", "2022-03-28", "2022-03-28"]
    errors = _together(len(cutoffs), lambda k: briefing_publish(cutoff=parse_cutoff(cutoffs[k])))
    assert not errors, errors
    assert Briefing.objects.count() == 4
    carried = [
        b.cutoff
        for b in Briefing.objects.all()
        for a in b.areas
        if a["code"] == "3505" and "2022-03-24" in a["corrections"]
    ]
    assert len(carried) == 1  # by whichever later briefing locked the earlier ones first


def test_concurrent_raising_keeps_one_open_problem_per_key(postgres_only, facts):
    now = timezone.now()
    facts.OVERDUE.extend(
        Overdue(
            kind="transfer",
            label=f"转运 {i}",
            division_code=LC_COMMUNITY,
            due_at=now - dt.timedelta(hours=1),
            url="/x/",
            ref=f"transfer:{i}",
        )
        for i in range(5)
    )
    errors = _together(6, lambda k: problems_raise(now=now))
    assert not errors, errors
    assert Problem.objects.count() == 5
    assert sorted(Problem.objects.values_list("key", flat=True)) == [
        f"overdue:transfer:{i}" for i in range(5)
    ]
