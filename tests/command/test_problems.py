"""The problem list: every transition allowed and refused by role, jurisdiction and state;
evidence checked and served only to those who may see the problem; escalation once."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from lianfang.accounts.roles import Role
from lianfang.command.models import Evidence, Problem, ProblemEvent, ProblemState
from lianfang.command.selectors import act_now
from lianfang.command.selectors.problems import problems_visible
from lianfang.command.services.problems import (
    EVIDENCE_MAX_BYTES,
    ProblemRefused,
    evidence_add,
    evidence_bytes,
    problem_file,
    problem_transition,
    problems_escalate,
)
from lianfang.core.errors import Refused
from tests.conftest import JINJIANG, JJ_COMMUNITY, LICHENG, actor, make_user

CITY = "3505"
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64

# Who may take each action (the plugin's verbs), written out here independently of the code.
MAY = {
    "start": {Role.COMMANDER, Role.COMMAND_OFFICE, Role.ADMIN, Role.WORKING_GROUP, Role.COMMUNITY_WORKER},
    "report": {Role.COMMANDER, Role.COMMAND_OFFICE, Role.ADMIN, Role.WORKING_GROUP, Role.COMMUNITY_WORKER},
    "verify": {Role.COMMANDER, Role.COMMAND_OFFICE, Role.ADMIN, Role.INSPECTOR},
    "reject": {Role.COMMANDER, Role.COMMAND_OFFICE, Role.ADMIN, Role.INSPECTOR},
}
FROM = {
    "start": ProblemState.ASSIGNED,
    "report": ProblemState.RECTIFYING,
    "verify": ProblemState.FIXED,
    "reject": ProblemState.FIXED,
}
TO = {
    "start": ProblemState.RECTIFYING,
    "report": ProblemState.FIXED,
    "verify": ProblemState.CLOSED,
    "reject": ProblemState.RECTIFYING,
}
PLACES = {"city": CITY, "jinjiang": JINJIANG, "licheng": LICHENG}


def _problem(place: str, state: str = ProblemState.ASSIGNED) -> Problem:
    p = problem_file(actor=None, title=f"{place} 问题", division_code=PLACES[place])
    Problem.objects.filter(pk=p.pk).update(state=state)
    return Problem.objects.get(pk=p.pk)


@pytest.mark.parametrize("action", list(MAY))
@pytest.mark.parametrize("role", [r for r in Role if r != Role.AUDITOR] + [Role.AUDITOR])
def test_every_transition_by_role_on_own_county(db, role, action):
    user = make_user(f"u_{role}", role, [JINJIANG])
    problem = _problem("jinjiang", FROM[action])

    def call():
        return problem_transition(
            actor=actor(user), problem_id=problem.pk, action=action, reason="照片不清晰"
        )  # noqa: E731

    if role in MAY[action]:
        assert call().state == TO[action]
        event = ProblemEvent.objects.filter(problem=problem).last()
        assert (event.action, event.from_state, event.to_state, event.user_id) == (
            action,
            FROM[action],
            TO[action],
            user.pk,
        )
    else:
        with pytest.raises(Refused):
            call()
        assert Problem.objects.get(pk=problem.pk).state == FROM[action]


@pytest.mark.parametrize("action", list(MAY))
@pytest.mark.parametrize(
    "holder,place,allowed",
    [
        ([JINJIANG], "jinjiang", True),
        ([JINJIANG], "city", False),  # a county may not close (nor touch) the city's problem
        ([JINJIANG], "licheng", False),
        ([CITY], "jinjiang", True),
        ([CITY], "city", True),
        ([JINJIANG, LICHENG], "city", False),  # two counties are not the city
    ],
)
def test_every_transition_by_jurisdiction(db, action, holder, place, allowed):
    user = make_user("office", Role.COMMAND_OFFICE, holder)
    problem = _problem(place, FROM[action])
    if allowed:
        assert (
            problem_transition(actor=actor(user), problem_id=problem.pk, action=action, reason="x").state
            == TO[action]
        )
    else:
        with pytest.raises(ProblemRefused) as exc:
            problem_transition(actor=actor(user), problem_id=problem.pk, action=action, reason="x")
        assert exc.value.code == "not_found"  # "not yours" is "not there"
        assert Problem.objects.get(pk=problem.pk).state == FROM[action]


@pytest.mark.parametrize("action", list(MAY))
@pytest.mark.parametrize("state", list(ProblemState))
def test_every_transition_by_state(db, action, state):
    problem = _problem("jinjiang", state)
    allowed = state == FROM[action] or (action == "report" and state == ProblemState.ASSIGNED)
    if allowed:
        assert (
            problem_transition(actor=None, problem_id=problem.pk, action=action, reason="r").state
            == TO[action]
        )
    else:
        with pytest.raises(ProblemRefused) as exc:
            problem_transition(actor=None, problem_id=problem.pk, action=action, reason="r")
        assert exc.value.code == "bad_state" and "状态" in exc.value.zh


def test_sending_back_needs_a_reason_and_keeps_it(db):
    problem = _problem("jinjiang", ProblemState.FIXED)
    with pytest.raises(ProblemRefused, match="原因"):
        problem_transition(actor=None, problem_id=problem.pk, action="reject", reason="  ")
    problem_transition(actor=None, problem_id=problem.pk, action="reject", reason="现场仍有人员聚集")
    assert ProblemEvent.objects.filter(problem=problem, action="reject").get().note == "现场仍有人员聚集"


def test_the_full_loop_with_history(db):
    inspector = make_user("insp", Role.INSPECTOR, [JINJIANG])
    worker = make_user("grid", Role.COMMUNITY_WORKER, [JINJIANG])
    p = problem_file(
        actor=actor(inspector), title="采样点排队过长", division_code=JJ_COMMUNITY, responsible="青阳街道"
    )
    assert p.source == "inspection" and p.state == ProblemState.ASSIGNED
    # 当日整改: due at the end of the local day it was filed.
    local = p.deadline_at.astimezone(dt.timezone(dt.timedelta(hours=8)))
    assert (local.hour, local.minute) == (0, 0) and p.deadline_at > timezone.now()
    for who, action in [
        (worker, "start"),
        (worker, "report"),
        (inspector, "reject"),
        (worker, "report"),
        (inspector, "verify"),
    ]:
        problem_transition(actor=actor(who), problem_id=p.pk, action=action, reason="补充照片")
    p.refresh_from_db()
    assert p.state == ProblemState.CLOSED and p.closed_at is not None
    assert [e.action for e in p.events.all()] == ["file", "start", "report", "reject", "report", "verify"]


def test_filing_is_checked(db):
    county = make_user("insp2", Role.INSPECTOR, [JINJIANG])
    sampler = make_user("smp", Role.SAMPLER, [JINJIANG])
    with pytest.raises(ProblemRefused, match="辖区"):
        problem_file(actor=actor(county), title="x", division_code=CITY)
    with pytest.raises(ProblemRefused, match="请填写问题"):
        problem_file(actor=actor(county), title=" ", division_code=JINJIANG)
    with pytest.raises(ProblemRefused, match="区划"):
        problem_file(actor=actor(county), title="x", division_code="350582999999")
    with pytest.raises(Refused):
        problem_file(actor=actor(sampler), title="x", division_code=JINJIANG)
    assert not Problem.objects.exists()


def test_evidence_type_size_hash_and_who_may_read_it(db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    own = make_user("grid2", Role.COMMUNITY_WORKER, [JINJIANG])
    other = make_user("lc_office", Role.COMMAND_OFFICE, [LICHENG])
    city = make_user("c_office", Role.COMMAND_OFFICE, [CITY])
    problem = _problem("jinjiang")
    ev = evidence_add(actor=actor(own), problem_id=problem.pk, name="现场.jpg", data=JPEG)
    assert ev.content_type == "image/jpeg" and len(ev.sha256) == 64 and evidence_bytes(ev) == JPEG
    for data, code in [
        (b"MZ\x90\x00 not a photo", "bad_file_type"),
        (b"<svg onload=alert(1)>", "bad_file_type"),
        (b"", "empty_file"),
        (PNG + b"\x00" * EVIDENCE_MAX_BYTES, "file_too_large"),
    ]:
        with pytest.raises(ProblemRefused) as exc:
            evidence_add(actor=actor(own), problem_id=problem.pk, name="x.jpg", data=data)
        assert exc.value.code == code
    with pytest.raises(ProblemRefused) as exc:
        evidence_add(actor=actor(other), problem_id=problem.pk, name="x.png", data=PNG)
    assert exc.value.code == "not_found"
    assert Evidence.objects.count() == 1
    from lianfang.command.selectors.problems import evidence_get

    assert evidence_get(actor=actor(other), pk=ev.pk) is None
    assert evidence_get(actor=actor(city), pk=ev.pk) == ev
    # A file changed on disk is not served as the evidence.
    (tmp_path / ev.path).write_bytes(PNG)
    with pytest.raises(ProblemRefused, match="改动"):
        evidence_bytes(ev)


def test_an_overdue_problem_escalates_once_and_shows_once_upstairs(db):
    city = make_user("c_cmd", Role.COMMANDER, [CITY])
    lc = make_user("lc_cmd", Role.COMMANDER, [LICHENG])
    problem = _problem("jinjiang")
    later = problem.deadline_at + dt.timedelta(minutes=1)
    assert problems_escalate(now=problem.deadline_at - dt.timedelta(minutes=1)) == 0
    assert problems_escalate(now=later) == 1
    assert problems_escalate(now=later + dt.timedelta(days=2)) == 0  # once
    problem.refresh_from_db()
    assert problem.escalated_to == CITY
    assert list(problems_visible(actor=actor(city))) == [problem]  # once, not twice
    assert list(problems_visible(actor=actor(lc))) == []
    Problem.objects.filter(pk=problem.pk).update(deadline_at=timezone.now() - dt.timedelta(hours=1))
    items = act_now(actor(city))
    assert [(i["label"], i["overdue"], i["escalated"]) for i in items] == [("jinjiang 问题", True, True)]
