"""Each working group owns a queue: the overdue kinds of its work in its post's division; its
members see it on their home page; another county, a dissolved group or a made-up id sees nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from lianfang.accounts.roles import Role
from lianfang.command.models import GROUP_QUEUES, GroupKind
from lianfang.command.services.posts import group_create, group_merge, member_set, post_create
from lianfang.core.facts import Overdue
from lianfang.screening.models import RecheckTask
from tests.command.test_overdue_board import POOLED, task  # noqa: F401  (the re-check task fixture)
from tests.conftest import JINJIANG, JJ_COMMUNITY, LICHENG, logged_in, make_user


@pytest.fixture
def groups(task, facts):  # noqa: F811
    now = timezone.now()
    RecheckTask.objects.filter(pk=task.pk).update(due_sample_at=now - dt.timedelta(hours=3))
    facts.OVERDUE.extend(
        [
            Overdue(
                "trace_core",
                "C-9 核心信息",
                JJ_COMMUNITY,
                now - dt.timedelta(hours=1),
                "/c/9/",
                "trace_core:9",
            ),
            Overdue(
                "request", "透析 · 紧急", JJ_COMMUNITY, now - dt.timedelta(minutes=20), "/l/1/", "request:1"
            ),
        ]
    )
    post = post_create(actor=None, name="晋江市指挥部", division_code=JINJIANG)
    made = {
        kind: group_create(actor=None, post_id=post.pk, name="", kind=kind)
        for kind in (GroupKind.TESTING, GroupKind.TRACING, GroupKind.COORDINATION, GroupKind.PUBLICITY)
    }
    return made


def _refs(client, group) -> list[str]:
    response = client.get("/overdue/", {"group": group.pk})
    assert response.status_code == 200
    return [item.ref for item in response.context["page"]]


def test_each_group_sees_the_kinds_it_owns(groups, task, county_user):  # noqa: F811
    client = logged_in(county_user)
    assert _refs(client, groups[GroupKind.TESTING]) == [f"{task.kind}:{task.pk}"]
    assert _refs(client, groups[GroupKind.TRACING]) == ["trace_core:9"]
    assert sorted(_refs(client, groups[GroupKind.COORDINATION])) == sorted(
        ["trace_core:9", "request:1", f"{task.kind}:{task.pk}"]
    )
    assert _refs(client, groups[GroupKind.PUBLICITY]) == []
    page = client.get("/overdue/", {"group": groups[GroupKind.TESTING].pk}).content.decode()
    assert "核酸检测" in page and f"group={groups[GroupKind.TESTING].pk}" in page


def test_every_kind_of_group_has_a_queue_declared():
    assert set(GROUP_QUEUES) == set(GroupKind.values)


def test_another_county_a_dissolved_group_or_a_made_up_id_sees_nothing(groups, county_user):
    licheng = make_user("lc_office", Role.COMMAND_OFFICE, [LICHENG])
    testing = groups[GroupKind.TESTING]
    assert logged_in(licheng).get("/overdue/", {"group": testing.pk}).status_code == 404
    client = logged_in(county_user)
    assert client.get("/overdue/", {"group": "99999"}).status_code == 404
    assert client.get("/overdue/", {"group": "abc"}).status_code == 404
    group_merge(actor=None, group_id=testing.pk, into_id=groups[GroupKind.COORDINATION].pk)
    assert client.get("/overdue/", {"group": testing.pk}).status_code == 404


def test_a_member_sees_their_groups_queue_on_the_home_page(groups, county_user):
    worker = make_user("jj_wg", Role.WORKING_GROUP, [JINJIANG])
    member_set(actor=None, group_id=groups[GroupKind.TRACING].pk, username="jj_wg", role="lead")
    member_set(actor=None, group_id=groups[GroupKind.PUBLICITY].pk, username="jj_wg", role="member")
    page = logged_in(worker).get("/").content.decode()
    assert f"/overdue/?group={groups[GroupKind.TRACING].pk}" in page and "1 项待办已超时" in page
    assert f"?group={groups[GroupKind.PUBLICITY].pk}" not in page  # nothing late in its queue
    assert f"?group={groups[GroupKind.TESTING].pk}" not in logged_in(county_user).get("/").content.decode()
    posts = logged_in(worker).get("/posts/").content.decode()
    assert f"/overdue/?group={groups[GroupKind.TRACING].pk}" in posts
