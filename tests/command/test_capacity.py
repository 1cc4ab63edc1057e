"""Places nearly full: the rule raises a problem at the edition's share of rooms taken and proposes
closing it when rooms free up; the big screen shows the free rooms and beds (custody's fact)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from lianfang.command.models import Problem
from lianfang.command.selectors import screen
from lianfang.command.services.problems import problems_raise
from lianfang.custody.models import Stay
from lianfang.custody.services.places import place_create
from lianfang.custody.services.stays import stay_check_in
from lianfang.protocol import edition
from tests.conftest import JJ_COMMUNITY, LC_COMMUNITY, actor, make_user, rid

PERCENT = edition("p9").command.place_full_percent


@pytest.fixture
def hotel(db):
    return place_create(
        actor=None,
        code="JJ-H1",
        name="晋江隔离酒店",
        kind="hotel",
        community_code=JJ_COMMUNITY,
        units="101-110",
    )


def _check_in(place, n: int, start: int = 0) -> None:
    for k in range(start, start + n):
        stay_check_in(
            actor=None,
            place=place,
            id_type="resident_id",
            id_number=rid("350582", "19900101", f"{k + 100:03d}"),
            name=f"隔离人员{k}",
            at=timezone.now() - dt.timedelta(hours=1),
        )


def _open(rule: str) -> list[Problem]:
    return list(Problem.objects.filter(rule=rule).open())


def test_a_place_at_the_editions_share_raises_one_problem_and_clears(hotel):
    below = PERCENT * 10 // 100 - 1  # rooms taken one short of the share (10 rooms)
    _check_in(hotel, below)
    problems_raise()
    assert _open("place_nearly_full") == []
    _check_in(hotel, 1, start=below)
    problems_raise()
    [problem] = _open("place_nearly_full")
    assert problem.division_code == JJ_COMMUNITY and f"{below + 1}/10" in problem.title
    assert problem.url == f"/custody/places/{hotel.pk}/"
    problems_raise()
    assert _open("place_nearly_full") == [problem]  # one open problem while it holds
    Stay.objects.filter(pk=Stay.objects.latest("id").pk).update(ended_at=timezone.now())
    problems_raise()
    problem.refresh_from_db()
    assert problem.clear_proposed_at is not None


def test_the_screen_shows_free_rooms_and_beds_of_its_jurisdiction_only(hotel):
    place_create(
        actor=None, code="JJ-F1", name="晋江方舱", kind="fangcang", community_code=JJ_COMMUNITY, units="1-20"
    )
    place_create(
        actor=None, code="LC-H1", name="鲤城酒店", kind="hotel", community_code=LC_COMMUNITY, units="1-5"
    )
    _check_in(hotel, 3)
    jj = make_user("jj_cmd", "command_office", ["350582"])
    data = screen.compute(actor(jj), timezone.now())
    assert (data["isolation_rooms"], data["treatment_beds"]) == (7, 20)
    city = make_user("city_cmd", "command_office", ["3505"])
    data = screen.compute(actor(city), timezone.now())
    assert (data["isolation_rooms"], data["treatment_beds"]) == (12, 20)
