"""Consultations: the agenda from the day's overdue problems and numbers (frozen when opened),
decisions as problems or directives naming the consultation, attendance by post."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from lianfang.accounts.roles import Role
from lianfang.command.models import Problem
from lianfang.command.services.consultations import (
    attendance_set,
    consultation_open,
    decision_directive,
    decision_problem,
)
from lianfang.command.services.posts import PostRefused, post_create
from lianfang.command.services.problems import problem_file
from tests.conftest import JINJIANG, JJ_COMMUNITY, LICHENG, actor, logged_in, make_user

CITY = "3505"


@pytest.fixture
def world(db):
    late = problem_file(actor=None, title="晋江超时问题", division_code=JINJIANG)
    Problem.objects.filter(pk=late.pk).update(deadline_at=timezone.now() - dt.timedelta(hours=1))
    problem_file(actor=None, title="鲤城未超时", division_code=LICHENG)
    return {
        "city": post_create(actor=None, name="市指挥部", division_code=CITY),
        "jj": post_create(actor=None, name="晋江指挥部", division_code=JINJIANG),
        "lc": post_create(actor=None, name="鲤城指挥部", division_code=LICHENG),
        "late": late,
    }


def test_agenda_decisions_attendance(world):
    cmd = actor(make_user("k_cmd", Role.COMMANDER, [CITY]))
    c = consultation_open(actor=cmd, post_id=world["city"].pk, title="3月25日晚会商")
    assert [p["title"] for p in c.agenda["overdue_problems"]] == ["晋江超时问题"]
    assert c.agenda["numbers"]["open_problems"] == 2 and c.agenda["numbers"]["overdue_problems"] == 1
    problem = decision_problem(
        actor=cmd,
        consultation_id=c.pk,
        title="补齐晋江未检人员",
        division_code=JJ_COMMUNITY,
        responsible="晋江市",
    )
    directive = decision_directive(
        actor=cmd, consultation_id=c.pk, to_post_id=world["lc"].pk, title="加派采样力量"
    )
    assert (
        problem.consultation_id == c.pk
        and problem.source == "command"
        and problem.deadline_at > timezone.now()
    )
    assert directive.consultation_id == c.pk
    attendance_set(actor=cmd, consultation_id=c.pk, post_id=world["jj"].pk, present=True)
    attendance_set(actor=cmd, consultation_id=c.pk, post_id=world["lc"].pk, present=False)
    attendance_set(
        actor=cmd, consultation_id=c.pk, post_id=world["lc"].pk, present=True
    )  # corrected, not doubled
    assert sorted(c.attendance.values_list("post__name", "present")) == [
        ("晋江指挥部", True),
        ("鲤城指挥部", True),
    ]
    # The agenda is what it was when the consultation opened.
    problem_file(actor=None, title="后来的问题", division_code=JINJIANG)
    c.refresh_from_db()
    assert c.agenda["numbers"]["open_problems"] == 2


def test_a_county_holds_its_own_consultation_only(world):
    jj = actor(make_user("k_jj", Role.COMMAND_OFFICE, [JINJIANG]))
    with pytest.raises(PostRefused):
        consultation_open(actor=jj, post_id=world["city"].pk, title="x")
    c = consultation_open(actor=jj, post_id=world["jj"].pk, title="晋江会商")
    with pytest.raises(PostRefused, match="辖区"):
        decision_problem(actor=jj, consultation_id=c.pk, title="x", division_code=LICHENG, responsible="")
    with pytest.raises(PostRefused, match="下级"):
        attendance_set(actor=jj, consultation_id=c.pk, post_id=world["lc"].pk, present=True)
    lc = actor(make_user("k_lc", Role.COMMAND_OFFICE, [LICHENG]))
    with pytest.raises(PostRefused) as exc:
        decision_problem(actor=lc, consultation_id=c.pk, title="x", division_code=LICHENG, responsible="")
    assert exc.value.code == "not_found"


def test_pages(world):
    client = logged_in(make_user("k_cmd2", Role.COMMANDER, [CITY]))
    opened = client.post("/consultations/", {"post": world["city"].pk, "title": "晚间会商"})
    assert opened.status_code == 302
    page = client.get(opened["Location"]).content.decode()
    assert "晋江超时问题" in page
    decided = client.post(opened["Location"], {"op": "problem", "title": "决定一", "division_code": JINJIANG})
    assert decided.status_code == 302 and Problem.objects.filter(title="决定一").exists()
    bad = client.post(opened["Location"], {"op": "problem", "title": "", "division_code": JINJIANG})
    assert bad.status_code == 400 and "请填写问题" in bad.content.decode()


def test_the_agenda_counts_the_loops_past_their_clock_in_the_posts_division(world, facts):
    from lianfang.core.facts import Overdue
    from tests.conftest import LC_COMMUNITY

    now = timezone.now()
    facts.OVERDUE.extend(
        [
            Overdue("transfer", "转运 甲", JJ_COMMUNITY, now - dt.timedelta(hours=1), "/t/1/", "transfer:1"),
            Overdue("transfer", "转运 乙", JJ_COMMUNITY, now - dt.timedelta(hours=2), "/t/2/", "transfer:2"),
            Overdue("trace_core", "C-1", LC_COMMUNITY, now - dt.timedelta(hours=1), "/c/1/", "trace_core:1"),
        ]
    )
    cmd = actor(make_user("k_cmd2", Role.COMMANDER, [CITY]))
    jj = consultation_open(actor=cmd, post_id=world["jj"].pk, title="晋江会商")
    assert jj.agenda["overdue_loops"] == [{"kind": "transfer", "label": "转运", "count": 2}]
    city = consultation_open(actor=cmd, post_id=world["city"].pk, title="全市会商")
    assert {x["kind"]: x["count"] for x in city.agenda["overdue_loops"]} == {"transfer": 2, "trace_core": 1}
    page = logged_in(make_user("k_cmd3", Role.COMMANDER, [CITY])).get(f"/consultations/{jj.pk}/")
    assert "转运 <b>2</b>" in page.content.decode()
    assert "甲" not in page.content.decode()  # counts, no person
