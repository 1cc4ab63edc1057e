"""Concurrent writes on PostgreSQL: two commanders signing the same proposal record one change;
two escalation runs escalate an urgent request once; two workers accepting it, one wins."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection

from lianfang.accounts.models import AuditEvent
from lianfang.accounts.roles import Role
from lianfang.livelihood.models import Request
from lianfang.livelihood.services import request_accept, request_file, requests_escalate
from lianfang.zones.models import ZoneChange, ZoneProposal
from lianfang.zones.services import proposal_sign
from tests.conftest import JJ_COMMUNITY, actor, make_user
from tests.zones.helpers import zone_with_proposal


def _together(n, work):
    errors, results = [], []
    barrier = threading.Barrier(n)

    def run(k):
        try:
            barrier.wait()
            results.append(work(k))
        except Exception as exc:  # noqa: BLE001 - surfaced to the test
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(k,)) for k in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results, errors


@pytest.fixture
def pg(transactional_db):
    if connection.vendor != "postgresql":
        pytest.skip(
            "concurrency is tested on PostgreSQL (the in-memory SQLite test database is one connection)"
        )


def test_two_signatures_of_one_proposal_record_one_change(pg):
    zone, proposal = zone_with_proposal("JJ-Z1", JJ_COMMUNITY)
    commanders = [actor(make_user(f"cmd{k}", Role.COMMANDER, ["350582"])) for k in range(4)]
    results, errors = _together(4, lambda k: proposal_sign(actor=commanders[k], pk=proposal.pk))
    assert len(results) == 1 and all(getattr(e, "code", "") == "not_open" for e in errors), errors
    assert ZoneChange.objects.filter(zone=zone).count() == 2
    assert ZoneProposal.objects.get(pk=proposal.pk).status == "signed"


def test_escalation_runs_at_once_escalate_once_and_one_worker_accepts(pg):
    worker = make_user("grid", Role.COMMUNITY_WORKER, [JJ_COMMUNITY])
    r, _ = request_file(actor=None, source="worker", community_code=JJ_COMMUNITY, name="王", phone="13800001111",
                        address="1号楼", kind="dialysis", detail="透析", at=dt.datetime(2022, 3, 20, tzinfo=dt.UTC))  # fmt: skip
    later = dt.datetime(2022, 3, 21, tzinfo=dt.UTC)
    results, errors = _together(4, lambda k: requests_escalate(at=later))
    assert not errors, errors
    assert sum(len(x) for x in results) == 1
    assert AuditEvent.objects.filter(action="request_escalate").count() == 1
    results, errors = _together(4, lambda k: request_accept(actor=actor(worker), pk=r.pk))
    assert len(results) == 1 and all(getattr(e, "code", "") == "bad_state" for e in errors), errors
    assert Request.objects.get(pk=r.pk).status == "accepted"
