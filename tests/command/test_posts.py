"""Posts, working groups (merged and re-staffed with history kept) and directives
(sent → acknowledged → reported back; red when unacknowledged past the edition's time)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from lianfang.accounts.roles import Role
from lianfang.command.models import Directive, Membership, WorkingGroup
from lianfang.command.selectors import act_now
from lianfang.command.selectors.problems import directive_is_red
from lianfang.command.services.posts import (
    PostRefused,
    directive_send,
    directive_step,
    group_create,
    group_merge,
    member_set,
    post_create,
)
from lianfang.core.errors import Refused
from lianfang.edition.services import in_force
from tests.conftest import JINJIANG, LICHENG, actor, logged_in, make_user

CITY = "3505"


@pytest.fixture
def posts(db):
    return {
        "city": post_create(actor=None, name="泉州市指挥部", division_code=CITY),
        "jj": post_create(actor=None, name="晋江市指挥部", division_code=JINJIANG),
        "lc": post_create(actor=None, name="鲤城区指挥部", division_code=LICHENG),
    }


def test_groups_restaffed_and_merged_with_history(posts):
    a = make_user("m_a", Role.WORKING_GROUP, [CITY])
    b = make_user("m_b", Role.WORKING_GROUP, [CITY])
    testing = group_create(actor=None, post_id=posts["city"].pk, name="", kind="testing")
    transport = group_create(actor=None, post_id=posts["city"].pk, name="采样转运调度", kind="testing")
    assert testing.name == "核酸检测"
    member_set(actor=None, group_id=testing.pk, username=a.username, role="lead")
    member_set(actor=None, group_id=testing.pk, username=a.username, role="member")  # re-staffed
    member_set(actor=None, group_id=transport.pk, username=b.username, role="lead")
    group_merge(actor=None, group_id=transport.pk, into_id=testing.pk)
    history = list(Membership.objects.filter(user=a).values_list("role", "left_at"))
    assert history[0][0] == "lead" and history[0][1] is not None and history[1] == ("member", None)
    assert set(
        Membership.objects.filter(group=testing, left_at=None).values_list("user__username", flat=True)
    ) == {"m_a", "m_b"}
    transport.refresh_from_db()
    assert transport.dissolved_at and transport.merged_into_id == testing.pk
    assert WorkingGroup.objects.count() == 2  # nothing deleted
    with pytest.raises(PostRefused, match="撤销"):
        member_set(actor=None, group_id=transport.pk, username=b.username, role="member")


def test_a_county_organises_only_its_own(posts):
    jj = actor(make_user("o_jj", Role.COMMAND_OFFICE, [JINJIANG]))
    group_create(actor=jj, post_id=posts["jj"].pk, name="", kind="tracing")
    for call in (
        lambda: group_create(actor=jj, post_id=posts["city"].pk, name="", kind="tracing"),
        lambda: group_create(actor=jj, post_id=posts["lc"].pk, name="", kind="tracing"),
        lambda: post_create(actor=jj, name="x", division_code=LICHENG),
    ):
        with pytest.raises(PostRefused):
            call()
    with pytest.raises(Refused):
        post_create(
            actor=actor(make_user("o_smp", Role.SAMPLER, [JINJIANG])), name="x", division_code=JINJIANG
        )


def test_directive_loop_and_red_after_the_editions_time(posts):
    city = actor(make_user("d_city", Role.COMMANDER, [CITY]))
    jj = actor(make_user("d_jj", Role.COMMAND_OFFICE, [JINJIANG]))
    lc = actor(make_user("d_lc", Role.COMMAND_OFFICE, [LICHENG]))
    d = directive_send(
        actor=city, from_post_id=posts["city"].pk, to_post_id=posts["jj"].pk, title="今日完成重点区域筛查"
    )
    hours = in_force().command.directive_ack_hours
    assert d.ack_due_at - d.sent_at == dt.timedelta(hours=hours) and d.edition == in_force().code
    assert not directive_is_red(d, d.sent_at + dt.timedelta(hours=hours) - dt.timedelta(seconds=1))
    assert directive_is_red(d, d.ack_due_at + dt.timedelta(seconds=1))
    Directive.objects.filter(pk=d.pk).update(ack_due_at=timezone.now() - dt.timedelta(minutes=1))
    assert [(i["kind"], i["overdue"]) for i in act_now(jj)] == [("directive", True)]
    assert act_now(lc) == []
    with pytest.raises(PostRefused) as exc:
        directive_step(actor=lc, directive_id=d.pk, step="acknowledge")
    assert exc.value.code == "not_found"
    with pytest.raises(PostRefused, match="状态"):
        directive_step(actor=jj, directive_id=d.pk, step="report", report="已完成")  # not acknowledged yet
    directive_step(actor=jj, directive_id=d.pk, step="acknowledge")
    with pytest.raises(PostRefused, match="反馈"):
        directive_step(actor=jj, directive_id=d.pk, step="report", report=" ")
    d = directive_step(actor=jj, directive_id=d.pk, step="report", report="已完成 3 个社区")
    assert d.acknowledged_at <= d.reported_at and not directive_is_red(d)
    assert act_now(jj) == []


def test_directives_go_down_only_from_ones_own_post(posts):
    jj = actor(make_user("d_jj2", Role.COMMAND_OFFICE, [JINJIANG]))
    city = actor(make_user("d_city2", Role.COMMANDER, [CITY]))
    with pytest.raises(PostRefused, match="下级"):
        directive_send(actor=city, from_post_id=posts["jj"].pk, to_post_id=posts["lc"].pk, title="x")
    with pytest.raises(PostRefused, match="下级"):
        directive_send(actor=jj, from_post_id=posts["jj"].pk, to_post_id=posts["city"].pk, title="x")
    with pytest.raises(PostRefused):
        directive_send(actor=jj, from_post_id=posts["city"].pk, to_post_id=posts["jj"].pk, title="x")
    assert not Directive.objects.exists()


def test_pages(posts):
    client = logged_in(make_user("d_city3", Role.COMMANDER, [CITY]))
    assert (
        client.post(
            "/directives/", {"from_post": posts["city"].pk, "to_post": posts["jj"].pk, "title": "指令一"}
        ).status_code
        == 302
    )
    page = client.get("/directives/").content.decode()
    assert "指令一" in page
    assert (
        client.post("/posts/", {"op": "group", "post": posts["jj"].pk, "kind": "tracing"}).status_code == 302
    )
    assert "流调溯源" in client.get("/posts/").content.decode()
    bad = client.post("/posts/", {"op": "post", "name": "x", "division_code": JINJIANG + "001001"})
    assert bad.status_code == 400 and "乡镇" in bad.content.decode()
