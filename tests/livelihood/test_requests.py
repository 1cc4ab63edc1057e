"""A request's states and clocks, by role and jurisdiction; urgent requests escalate once."""

from __future__ import annotations

import datetime as dt

import pytest

from lianfang.accounts.models import AuditEvent
from lianfang.accounts.roles import Role
from lianfang.core import plugins
from lianfang.livelihood.models import Package, Request, Status
from lianfang.livelihood.services import (
    LivelihoodError,
    request_accept,
    request_assign,
    request_close,
    request_deliver,
    request_file,
    requests_escalate,
)
from lianfang.protocol import edition
from tests.conftest import JJ_COMMUNITY, LC_COMMUNITY, actor, logged_in, make_user

T0 = dt.datetime(2022, 3, 20, 2, 0, tzinfo=dt.UTC)


@pytest.fixture
def people(db):
    Package.objects.create(code="GG1", name="供供套餐A", contents="米5斤、蔬菜")
    return {
        "worker": make_user("jj_grid", Role.COMMUNITY_WORKER, [JJ_COMMUNITY]),
        "volunteer": make_user("jj_vol", Role.VOLUNTEER, [JJ_COMMUNITY]),
        "other_vol": make_user("jj_vol2", Role.VOLUNTEER, [JJ_COMMUNITY]),
        "lc_vol": make_user("lc_vol", Role.VOLUNTEER, [LC_COMMUNITY]),
        "lc_worker": make_user("lc_grid", Role.COMMUNITY_WORKER, [LC_COMMUNITY]),
        "hotline": make_user("op12345", Role.WORKING_GROUP, ["3505"]),
        "commander": make_user("cmd", Role.COMMANDER, ["3505"]),
    }


def file(who, kind="dialysis", community=JJ_COMMUNITY, source="worker", **kw):
    data = {
        "name": "王芳",
        "phone": "13800001111",
        "address": "3号楼2单元501",
        "detail": "每周三透析",
        "building": "3号楼",
    }
    data.update(kw)
    return request_file(actor=who, source=source, community_code=community, kind=kind, at=T0, **data)


def test_the_clock_comes_from_the_edition_in_force_in_minutes(people):
    rules = edition("p9").livelihood
    urgent, _ = file(actor(people["worker"]))
    assert urgent.urgency == "urgent" and urgent.edition == "p9"
    assert urgent.accept_due_at == T0 + dt.timedelta(minutes=rules.accept_minutes["urgent"])
    assert urgent.deliver_due_at == T0 + dt.timedelta(minutes=rules.deliver_minutes["urgent"])
    food, _ = file(actor(people["worker"]), kind="food", package_code="GG1", detail="", urgency="normal")
    assert food.urgency == "normal"
    assert food.accept_due_at - T0 == dt.timedelta(minutes=rules.accept_minutes["normal"])
    # a dialysis request cannot be filed as less than urgent
    low, _ = file(actor(people["worker"]), urgency="normal")
    assert low.urgency == "urgent"


@pytest.mark.parametrize(
    ("kw", "code"),
    [
        ({"community": LC_COMMUNITY}, "unknown_community"),
        ({"community": "350582001"}, "unknown_community"),
        ({"phone": "1380000"}, "bad_phone"),
        ({"name": ""}, "bad_name"),
        ({"kind": "food", "package_code": "NOPE"}, "bad_package"),
        ({"kind": "pizza"}, "bad_kind"),
        ({"address": "x" * 201}, "bad_address"),
    ],
)
def test_bad_requests_are_refused_with_a_reason(people, kw, code):
    with pytest.raises(LivelihoodError) as exc:
        file(actor(people["worker"]), **kw)
    assert exc.value.code == code and exc.value.zh and exc.value.en
    assert not Request.objects.exists()


def test_roles_file_what_their_role_allows(people):
    with pytest.raises(Exception, match="may not"):
        file(actor(people["volunteer"]))
    with pytest.raises(Exception, match="may not"):
        file(actor(people["worker"]), source="hotline")
    r, _ = file(actor(people["hotline"]), source="hotline", community=LC_COMMUNITY)
    assert r.source == "hotline" and r.county_code == "350502"


def test_the_whole_life_with_proof_and_jurisdiction(people):
    r, code = file(actor(people["worker"]))
    with pytest.raises(LivelihoodError, match="no such request"):
        request_accept(actor=actor(people["lc_worker"]), pk=r.pk)  # another county: not there
    request_accept(actor=actor(people["worker"]), pk=r.pk)
    with pytest.raises(LivelihoodError, match="this step does not apply"):
        request_accept(actor=actor(people["worker"]), pk=r.pk)
    with pytest.raises(LivelihoodError) as exc:
        request_assign(actor=actor(people["worker"]), pk=r.pk, username="lc_vol")  # not of this community
    assert exc.value.code == "bad_assignee"
    request_assign(actor=actor(people["worker"]), pk=r.pk, username="jj_vol")
    with pytest.raises(LivelihoodError, match="no such request"):
        request_deliver(actor=actor(people["other_vol"]), pk=r.pk, code=code)  # not theirs
    with pytest.raises(LivelihoodError, match="confirmation code is wrong"):
        request_deliver(
            actor=actor(people["volunteer"]), pk=r.pk, code="000000" if code != "000000" else "111111"
        )
    with pytest.raises(LivelihoodError, match="photo"):
        request_deliver(actor=actor(people["volunteer"]), pk=r.pk)
    request_deliver(actor=actor(people["volunteer"]), pk=r.pk, code=code)
    with pytest.raises(Exception, match="may not"):
        request_close(actor=actor(people["volunteer"]), pk=r.pk)
    request_close(actor=actor(people["worker"]), pk=r.pk)
    r.refresh_from_db()
    assert (r.status, r.proof, r.delivered_by, r.assigned_to.username) == (
        "closed",
        "code",
        people["volunteer"],
        "jj_vol",
    )
    steps = list(
        AuditEvent.objects.filter(object_id=str(r.pk)).order_by("id").values_list("action", flat=True)
    )
    assert steps == ["request_file", "request_accept", "request_assign", "request_deliver", "request_close"]


def test_an_urgent_request_not_accepted_in_its_minutes_escalates_once(people):
    urgent, _ = file(actor(people["worker"]))
    food, _ = file(actor(people["worker"]), kind="food", package_code="GG1", detail="")
    accepted, _ = file(actor(people["worker"]))
    request_accept(actor=actor(people["worker"]), pk=accepted.pk)
    minutes = edition("p9").livelihood.accept_minutes["urgent"]
    assert requests_escalate(at=T0 + dt.timedelta(minutes=minutes)) == []  # due, not past
    late = requests_escalate(at=T0 + dt.timedelta(minutes=minutes, seconds=1))
    assert [r.pk for r in late] == [urgent.pk]  # not the food, not the accepted one
    assert requests_escalate(at=T0 + dt.timedelta(hours=5)) == []  # once
    assert AuditEvent.objects.filter(action="request_escalate").count() == 1
    urgent.refresh_from_db()
    assert urgent.escalated_at == T0 + dt.timedelta(minutes=minutes, seconds=1)


def test_overdue_fact_lists_late_requests_for_the_actor(people):
    urgent, _ = file(actor(people["worker"]))
    file(actor(people["hotline"]), source="hotline", community=LC_COMMUNITY)
    (provide,) = [p for p in plugins.providers("overdue") if p.__module__.startswith("lianfang.livelihood")]
    late = provide(actor(people["worker"]), T0 + dt.timedelta(hours=1))
    assert [o.ref for o in late] == [f"request:{urgent.pk}"]
    assert late[0].due_at == urgent.accept_due_at and late[0].division_code == JJ_COMMUNITY
    assert len(provide(actor(people["commander"]), T0 + dt.timedelta(hours=1))) == 2
    assert provide(actor(people["worker"]), T0) == []


def test_board_shows_urgent_first_and_volunteers_only_their_own(people):
    food, _ = file(actor(people["worker"]), kind="food", package_code="GG1", detail="")
    urgent, _ = file(actor(people["worker"]))
    client = logged_in(people["worker"])
    page = client.get("/livelihood/").content.decode()
    assert page.index(f'href="/livelihood/{urgent.pk}/"') < page.index(f'href="/livelihood/{food.pk}/"')
    request_assign(actor=actor(people["worker"]), pk=food.pk, username="jj_vol")
    mine = logged_in(people["volunteer"]).get("/livelihood/").content.decode()
    assert f'href="/livelihood/{food.pk}/"' in mine and f'href="/livelihood/{urgent.pk}/"' not in mine
    assert logged_in(people["volunteer"]).get(f"/livelihood/{urgent.pk}/").status_code == 404
    assert logged_in(people["lc_worker"]).get(f"/livelihood/{food.pk}/").status_code == 404
    # the assigned volunteer sees the door they deliver to; a commander sees it masked
    assert "13800001111" in logged_in(people["volunteer"]).get(f"/livelihood/{food.pk}/").content.decode()
    assert "13800001111" not in logged_in(people["commander"]).get(f"/livelihood/{food.pk}/").content.decode()


def test_forms_file_and_refuse_with_a_message(people):
    client = logged_in(people["worker"])
    data = {"community_code": JJ_COMMUNITY, "name": "李四", "phone": "13900002222", "address": "1号楼",
            "kind": "medicine", "detail": "降压药"}  # fmt: skip
    response = client.post("/livelihood/new/", data)
    assert response.status_code == 302
    r = Request.objects.get()
    assert (r.source, r.urgency, r.status) == ("worker", "priority", Status.NEW)
    bad = client.post("/livelihood/new/", {**data, "phone": "12"})
    assert bad.status_code == 400 and "11 digits" in bad.content.decode()
    assert logged_in(people["worker"]).get("/livelihood/hotline/").status_code == 403
    assert logged_in(people["hotline"]).post("/livelihood/hotline/", data).status_code == 302
    assert Request.objects.filter(source="hotline").count() == 1
