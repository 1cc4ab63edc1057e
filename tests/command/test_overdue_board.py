"""The overdue board: every app's late hand-offs, scoped, newest breach first; screening's re-check
tasks as its member of the ``overdue`` family (by status now, by their times at an earlier moment)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from lianfang.accounts.models import AuditEvent
from lianfang.accounts.roles import Role
from lianfang.command.models import Problem
from lianfang.command.services.problems import problems_raise
from lianfang.core.facts import Overdue
from lianfang.core.plugins import provider
from lianfang.screening.models import RecheckTask, TaskStatus
from tests.conftest import (
    JINJIANG,
    JJ_COMMUNITY,
    LC_COMMUNITY,
    LICHENG,
    actor,
    logged_in,
    make_person,
    make_user,
    rid,
)
from tests.screening.helpers import ROUND_START, abnormal_pool

POOLED = rid("350582", "19800101", "201")


@pytest.fixture
def task(db) -> RecheckTask:
    make_person(name="王芳", id_number=POOLED, community_code=JJ_COMMUNITY)
    abnormal_pool("JJ", JJ_COMMUNITY, POOLED, starts_at=ROUND_START)
    return RecheckTask.objects.get()


def _screening(who, at):
    return provider("overdue.screening")(who, at)


def test_a_recheck_task_is_overdue_from_its_sampling_clock_then_from_its_result_clock(task, county_user):
    jj, now = actor(county_user), timezone.now()
    hours = lambda n: now + dt.timedelta(hours=n)  # noqa: E731
    RecheckTask.objects.filter(pk=task.pk).update(
        created_at=hours(-3), due_sample_at=hours(-2), due_result_at=hours(4)
    )
    # As things stand (by its status) and at earlier moments (by its times).
    [late] = _screening(jj, None)
    assert late.kind == task.kind and late.due_at == hours(-2) and "待采样" in late.label
    assert (
        late.division_code == JJ_COMMUNITY and late.ref == f"{task.kind}:{task.pk}" and "王芳" in late.label
    )
    assert late.url == "/rounds/JJ-R1/tasks/?status=overdue"
    assert _screening(jj, hours(-2.1)) == []
    assert [o.due_at for o in _screening(jj, hours(-1))] == [hours(-2)]
    # Sampled in time: late only from its result clock.
    RecheckTask.objects.filter(pk=task.pk).update(status=TaskStatus.SAMPLED, sampled_at=hours(-2.5))
    assert _screening(jj, None) == [] and _screening(jj, hours(-1)) == []
    RecheckTask.objects.filter(pk=task.pk).update(due_result_at=hours(-0.5))
    [late] = _screening(jj, None)
    assert late.due_at == hours(-0.5) and "待出结果" in late.label
    assert [o.due_at for o in _screening(jj, hours(-0.25))] == [hours(-0.5)]
    # Closed: late no longer, but it was late before it closed.
    RecheckTask.objects.filter(pk=task.pk).update(status=TaskStatus.NEGATIVE, closed_at=hours(-0.1))
    assert _screening(jj, None) == [] and _screening(jj, hours(-0.05)) == []
    assert [o.due_at for o in _screening(jj, hours(-0.25))] == [hours(-0.5)]
    assert _screening(jj, hours(-3.5)) == []  # before the task existed


def test_another_county_does_not_see_the_task(task, db):
    licheng = make_user("lc_office", Role.COMMAND_OFFICE, [LICHENG])
    at = task.due_sample_at + dt.timedelta(hours=1)  # a later moment: as things stand, by status
    assert _screening(actor(licheng), at) == []
    assert len(_screening(None, at)) == 1  # the server's authority sees it


def test_the_problem_list_keeps_rechecks_as_one_problem_per_community(task):
    problems_raise(now=task.due_sample_at + dt.timedelta(minutes=1))
    rules = set(Problem.objects.values_list("rule", flat=True))
    assert "recheck_overdue" in rules and not {r for r in rules if r.startswith("overdue.")}


def _board(client, **params):
    response = client.get("/overdue/", params)
    assert response.status_code == 200, response.status_code
    return response


def test_the_board_shows_every_apps_late_items_newest_breach_first(task, facts, city_user, county_user):
    now = timezone.now()
    RecheckTask.objects.filter(pk=task.pk).update(due_sample_at=now - dt.timedelta(hours=3))
    facts.OVERDUE.extend(
        [
            Overdue(
                "transfer",
                "转运 李四（密接）",
                LC_COMMUNITY,
                now - dt.timedelta(hours=1),
                "/t/1/",
                "transfer:1",
            ),
            Overdue(
                "trace_core",
                "C-001 核心信息",
                JJ_COMMUNITY,
                now - dt.timedelta(minutes=5),
                "/c/1/",
                "trace_core:1",
            ),
        ]
    )
    page = _board(logged_in(city_user)).content.decode()
    refs = [part.split('"')[0] for part in page.split('data-ref="')[1:]]
    assert refs == ["trace_core:1", "transfer:1", f"{task.kind}:{task.pk}"]
    assert "3 小时 0 分" in page or "2 小时 59 分" in page
    # The county sees its own county only; the city drills into Licheng.
    page = _board(logged_in(county_user)).content.decode()
    assert "transfer:1" not in page and "trace_core:1" in page and f"{task.kind}:{task.pk}" in page
    page = _board(logged_in(city_user), area=LICHENG).content.decode()
    assert "transfer:1" in page and "trace_core:1" not in page
    # The kind filter keeps the counts of every kind.
    response = _board(logged_in(city_user), kind="transfer")
    assert [i.ref for i in response.context["page"]] == ["transfer:1"]
    assert response.context["board"].total == 3
    assert dict((k, n) for k, _, n in response.context["board"].by_kind) == {
        "transfer": 1,
        "trace_core": 1,
        task.kind: 1,
    }
    assert dict(response.context["board"].by_division) == {JINJIANG: 2, LICHENG: 1}


def test_the_board_is_audited_and_denied_outside_the_jurisdiction(task, county_user, db):
    client = logged_in(county_user)
    _board(client)
    event = AuditEvent.objects.filter(object_type="overdue_board").latest("id")
    assert event.object_id == JINJIANG and event.user_id == county_user.pk
    assert client.get("/overdue/", {"area": LICHENG}).status_code == 404
    assert client.get("/overdue/", {"area": "3505"}).status_code == 404  # above the county
    assert client.get("/overdue/", {"area": "not-a-code"}).status_code == 404
    sampler = make_user("jj_sampler", Role.SAMPLER, [JINJIANG])
    assert logged_in(sampler).get("/overdue/").status_code == 404


def test_the_big_screen_counts_each_late_recheck_once_in_its_county(task, county_user, db):
    from lianfang.command.selectors import screen

    RecheckTask.objects.filter(pk=task.pk).update(due_sample_at=timezone.now() - dt.timedelta(hours=1))
    data = screen.compute(actor(county_user), timezone.now())
    assert {o["kind"]: o["count"] for o in data["overdue"]} == {task.kind: 1}
    licheng = make_user("lc_office", Role.COMMAND_OFFICE, [LICHENG])
    assert screen.compute(actor(licheng), timezone.now())["overdue"] == []
