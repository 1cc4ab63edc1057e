"""Each raise rule: raises a problem, keeps one open problem while the condition holds, proposes
closing when it clears (and withdraws the proposal if it comes back)."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from lianfang.command.models import Problem
from lianfang.command.services.problems import problem_transition, problems_raise
from lianfang.core.facts import Overdue
from lianfang.screening import services as screening
from lianfang.screening.models import PoolAlert, RecheckTask, Round, TaskStatus, Tube
from tests.conftest import JJ_COMMUNITY, LC_COMMUNITY, make_person, rid
from tests.screening.helpers import ROUND_START, abnormal_pool

POOLED = rid("350582", "19800101", "201")


def _raise(rule: str, now: dt.datetime) -> list[Problem]:
    problems_raise(now=now)
    return list(Problem.objects.filter(rule=rule).order_by("id"))


def _cycle(rule: str, *, holds_at: dt.datetime, clear, key_part: str = "") -> Problem:
    """Raise, keep, clear → proposed, and the count of open problems stays one."""
    first = _raise(rule, holds_at)
    assert len(first) == 1, first
    problem = first[0]
    assert problem.source == "platform" and problem.clear_proposed_at is None
    assert key_part in problem.key
    again = _raise(rule, holds_at + dt.timedelta(minutes=5))
    assert again == [problem]  # one open problem while it holds
    clear()
    after = _raise(rule, holds_at + dt.timedelta(minutes=10))
    assert after == [problem]
    problem.refresh_from_db()
    assert problem.clear_proposed_at is not None  # proposed for closing, not closed by itself
    assert problem.state == "assigned"
    return problem


@pytest.fixture
def pool(db):
    make_person(id_number=POOLED, community_code=JJ_COMMUNITY)
    abnormal_pool("JJ", JJ_COMMUNITY, POOLED, starts_at=ROUND_START)
    return Round.objects.get(code="JJ-R1")


def test_alert_not_acknowledged(pool):
    alert = PoolAlert.objects.get()
    late = alert.raised_at + dt.timedelta(minutes=31)
    assert _raise("alert_unacknowledged", alert.raised_at + dt.timedelta(minutes=29)) == []
    problem = _cycle(
        "alert_unacknowledged",
        holds_at=late,
        clear=lambda: screening.alert_acknowledge(actor=None, alert=alert),
        key_part=str(alert.pk),
    )
    assert problem.division_code == JJ_COMMUNITY


def test_recheck_tasks_past_their_clock(pool):
    task = RecheckTask.objects.get()
    _cycle(
        "recheck_overdue",
        holds_at=task.due_sample_at + dt.timedelta(minutes=1),
        clear=lambda: RecheckTask.objects.filter(pk=task.pk).update(status=TaskStatus.NEGATIVE),
        key_part="JJ-R1",
    )


def test_tubes_pending_too_long(pool):
    screening.samples_import(
        table=pa.table(
            {
                "round_code": ["JJ-R1"],
                "tube_barcode": ["JJ-T2"],
                "pool_size": ["10"],
                "id_number": [rid("350582", "19800101", "202")],
                "site_code": ["JJ-S1"],
                "collected_at": ["2022-03-28 09:00"],
            }
        ),
        actor=None,
    )
    sampled = Tube.objects.get(barcode="JJ-T2").first_collected_at

    def result():
        screening.results_import(
            table=pa.table(
                {
                    "tube_barcode": ["JJ-T2"],
                    "lab_code": ["JJ-L"],
                    "result": ["negative"],
                    "reported_at": ["2022-03-28 20:00"],
                }
            ),
            actor=None,
        )

    assert _raise("tubes_pending", sampled + dt.timedelta(hours=7)) == []
    _cycle("tubes_pending", holds_at=sampled + dt.timedelta(hours=9), clear=result, key_part="JJ-S1")


def test_lab_turnaround_over_the_target(pool):
    # The pool's result came 4 h after sampling; a second tube's comes 10 h after: p90 over 6 h.
    screening.samples_import(
        table=pa.table(
            {
                "round_code": ["JJ-R1"] * 2,
                "tube_barcode": ["JJ-T3", "JJ-T4"],
                "pool_size": ["10"] * 2,
                "id_number": [rid("350582", "19800101", "203"), rid("350582", "19800101", "204")],
                "site_code": ["JJ-S1"] * 2,
                "collected_at": ["2022-03-28 08:00"] * 2,
            }
        ),
        actor=None,
    )
    screening.results_import(
        table=pa.table(
            {
                "tube_barcode": ["JJ-T3", "JJ-T4"],
                "lab_code": ["JJ-L"] * 2,
                "result": ["negative"] * 2,
                "reported_at": ["2022-03-28 18:00"] * 2,
            }
        ),
        actor=None,
    )
    now = ROUND_START + dt.timedelta(hours=20)

    def close_round():
        Round.objects.filter(code="JJ-R1").update(status="closed")

    problem = _cycle("lab_turnaround", holds_at=now, clear=close_round, key_part="JJ-L")
    assert problem.division_code == "3505"


def test_round_behind_its_deadline_in_a_community(pool):
    behind = make_person(id_number=rid("350582", "19800101", "205"), community_code=JJ_COMMUNITY)
    rnd = pool
    assert _raise("round_behind", rnd.deadline_at - dt.timedelta(minutes=1)) == []

    def sample_them():
        screening.samples_import(
            table=pa.table(
                {
                    "round_code": ["JJ-R1"],
                    "tube_barcode": ["JJ-T9"],
                    "pool_size": ["10"],
                    "id_number": [behind.id_number],
                    "site_code": ["JJ-S1"],
                    "collected_at": ["2022-03-28 10:00"],
                }
            ),
            actor=None,
        )

    problem = _cycle(
        "round_behind",
        holds_at=rnd.deadline_at + dt.timedelta(minutes=1),
        clear=sample_them,
        key_part=JJ_COMMUNITY,
    )
    assert problem.division_code == JJ_COMMUNITY and problem.url.endswith(f"/area/{JJ_COMMUNITY}/")


def test_every_overdue_fact_of_the_other_apps(facts, db):
    now = timezone.now()
    item = Overdue(
        kind="transfer",
        label="密接 张** 转运超时",
        division_code=LC_COMMUNITY,
        due_at=now - dt.timedelta(hours=1),
        url="/custody/transfers/7/",
        ref="transfer:7",
    )
    facts.OVERDUE.append(item)
    problem = _cycle("overdue.transfer", holds_at=now, clear=facts.OVERDUE.clear, key_part="transfer:7")
    assert problem.division_code == LC_COMMUNITY and problem.url == "/custody/transfers/7/"
    # The condition comes back: the proposal is withdrawn, still one problem.
    facts.OVERDUE.append(item)
    assert _raise("overdue.transfer", now + dt.timedelta(hours=1)) == [problem]
    problem.refresh_from_db()
    assert problem.clear_proposed_at is None
    # Closed, then it happens again: a new problem (one *open* problem per key).
    for action in ("report", "verify"):
        problem_transition(actor=None, problem_id=problem.pk, action=action)
    raised = _raise("overdue.transfer", now + dt.timedelta(hours=2))
    assert len(raised) == 2 and raised[1].state == "assigned"


def test_untested_people_not_visited_in_a_community(pool):
    from lianfang.screening.selectors.areas import untested_not_visited_by_community
    from lianfang.screening.services import door_visit_record

    rnd = pool
    hours = rnd.protocol.command.untested_visit_hours
    due = rnd.starts_at + dt.timedelta(hours=hours)
    knocked = make_person(id_number=rid("350582", "19800101", "206"), community_code=JJ_COMMUNITY)
    away = make_person(id_number=rid("350582", "19800101", "207"), community_code=JJ_COMMUNITY)
    # Not raised before the edition's hours have passed, though nobody was visited.
    assert _raise("untested_not_visited", due - dt.timedelta(minutes=1)) == []
    door_visit_record(actor=None, rnd=rnd, person_id=knocked.pk, outcome="not_at_home")
    # One GROUP BY over the people per round, whatever their number (the other queries are the
    # in-custody facts other apps state for the round's start, fixed per round).
    with CaptureQueriesContext(connection) as few:
        rows = untested_not_visited_by_community(rnd=rnd)
    assert rows == [{"community": JJ_COMMUNITY, "name": rows[0]["name"], "people": 1}] and rows[0]["name"]
    assert sum("people_person" in q["sql"] for q in few.captured_queries) == 1
    for i in range(10):
        make_person(id_number=rid("350582", "19800102", f"{300 + i}"), community_code="350582001005")
    with CaptureQueriesContext(connection) as many:
        more = untested_not_visited_by_community(rnd=rnd)
    assert len(many.captured_queries) == len(few.captured_queries)
    assert [(r["community"], r["people"]) for r in more] == [(JJ_COMMUNITY, 1), ("350582001005", 10)]
    screening.samples_import(
        table=pa.table(
            {
                "round_code": ["JJ-R1"] * 10,
                "tube_barcode": ["JJ-T7"] * 10,
                "pool_size": ["10"] * 10,
                "id_number": [rid("350582", "19800102", f"{300 + i}") for i in range(10)],
                "site_code": ["JJ-S1"] * 10,
                "collected_at": ["2022-03-28 10:00"] * 10,
            }
        ),
        actor=None,
    )

    def visit_the_last_one():
        door_visit_record(actor=None, rnd=rnd, person_id=away.pk, outcome="away")

    problem = _cycle(
        "untested_not_visited",
        holds_at=due + dt.timedelta(minutes=1),
        clear=visit_the_last_one,
        key_part=f"JJ-R1:{JJ_COMMUNITY}",
    )
    assert problem.division_code == JJ_COMMUNITY
    assert problem.url == f"/rounds/JJ-R1/area/{JJ_COMMUNITY}/?unvisited=1"
    assert problem.title == f"轮次 JJ-R1：{rows[0]['name']} 1 名未检人员开轮 {hours} 小时仍未入户走访"


def test_untested_not_visited_clears_once_they_are_sampled(pool):
    rnd = pool
    behind = make_person(id_number=rid("350582", "19800101", "208"), community_code=JJ_COMMUNITY)

    def sample_them():
        screening.samples_import(
            table=pa.table(
                {
                    "round_code": ["JJ-R1"],
                    "tube_barcode": ["JJ-T8"],
                    "pool_size": ["10"],
                    "id_number": [behind.id_number],
                    "site_code": ["JJ-S1"],
                    "collected_at": ["2022-03-28 10:00"],
                }
            ),
            actor=None,
        )

    hours = rnd.protocol.command.untested_visit_hours
    _cycle(
        "untested_not_visited",
        holds_at=rnd.starts_at + dt.timedelta(hours=hours, minutes=1),
        clear=sample_them,
        key_part=JJ_COMMUNITY,
    )


def test_untested_not_visited_only_for_open_rounds(pool):
    make_person(id_number=rid("350582", "19800101", "209"), community_code=JJ_COMMUNITY)
    Round.objects.filter(code="JJ-R1").update(status="closed")
    late = pool.starts_at + dt.timedelta(hours=pool.protocol.command.untested_visit_hours + 1)
    assert _raise("untested_not_visited", late) == []
