"""Scoping written once: every located model sees exactly the rows inside the actor's codes."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from lianfang.accounts.roles import Role
from lianfang.accounts.scoping import Actor, LocatedQuerySet
from lianfang.core import codes
from lianfang.geo.models import Division
from lianfang.people.models import CommunityStats, Person
from lianfang.screening.models import (
    PositiveFinding,
    RecheckTask,
    Round,
    RoundScope,
    Site,
    TaskKind,
    Tube,
)
from tests.conftest import JINJIANG, JJ_COMMUNITY, LC_COMMUNITY, LICHENG, actor, rid

JJ_TOWN = JJ_COMMUNITY[:9]
# Four communities: two in one Jinjiang town, one in another Jinjiang town, one in Licheng.
SAME_TOWN = "350582001005"
OTHER_TOWN = "350582002001"
PLACES = (JJ_COMMUNITY, SAME_TOWN, OTHER_TOWN, LC_COMMUNITY)


def of(*codes_: str) -> Actor:
    return Actor(user=None, role=Role.COMMAND_OFFICE, codes=codes.outermost(codes_))


ACTORS = {
    "county": of(JINJIANG),
    "town": of(JJ_TOWN),
    "community": of(JJ_COMMUNITY),
    "city": of("3505"),
    "two counties' parts": of(LICHENG, OTHER_TOWN),
}


@pytest.fixture
def located(db):
    """One row of every located model in each of the four communities."""
    now = timezone.now()
    rnd = Round.objects.create(code="R-LOC", name="located", starts_at=now, deadline_at=now)
    for i, place in enumerate(PLACES):
        where = {"community_id": place, "town_code": place[:9], "county_code": place[:6]}
        person = Person.objects.create(
            id_number=rid(place[:6], "19800101", f"{i:03d}"), name=f"p{i}", registered=True, **where
        )
        site = Site.objects.create(code=f"S-{place}", name=place, **where)
        tube = Tube.objects.create(
            barcode=f"T-{place}", round=rnd, pool_size=5, site=site, first_collected_at=now
        )
        task = RecheckTask.objects.create(
            round=rnd,
            tube=tube,
            person=person,
            kind=TaskKind.RECHECK,
            reason="positive",
            due_sample_at=now,
            due_result_at=now + dt.timedelta(hours=6),
            **where,
        )
        PositiveFinding.objects.create(
            task=task, person=person, round=rnd, tube_barcode=tube.barcode, sampled_at=now, reported_at=now
        )
        CommunityStats.objects.create(community_id=place, registered=1, refreshed_at=now)
    return rnd


# Each located model and how to read a row's community back.
LOCATED = {
    "person": (Person, lambda row: row.community_id),
    "site": (Site, lambda row: row.community_id),
    "tube": (Tube, lambda row: row.site.community_id),
    "task": (RecheckTask, lambda row: row.community_id),
    "finding": (PositiveFinding, lambda row: row.task.community_id),
    "community stats": (CommunityStats, lambda row: row.community_id),
}


@pytest.mark.parametrize("who", ACTORS)
@pytest.mark.parametrize("kind", LOCATED)
def test_visible_to_is_exactly_inside_the_actors_codes(located, kind, who):
    model, place_of = LOCATED[kind]
    someone = ACTORS[who]
    seen = sorted(place_of(row) for row in model.objects.visible_to(someone))
    assert seen == sorted(p for p in PLACES if codes.covered(p, someone.codes))
    assert seen, "every actor here holds at least one of the places"


@pytest.mark.parametrize("kind", LOCATED)
def test_an_actor_without_codes_sees_nothing(located, kind):
    model, _ = LOCATED[kind]
    assert model.objects.dangerously_all().count() == len(PLACES)
    assert not model.objects.visible_to(of()).exists()
    assert not model.objects.visible_to(Actor.for_user(None)).exists()


def test_a_real_county_user_sees_their_county(located, county_user):
    assert sorted(Person.objects.visible_to(actor(county_user)).values_list("community_id", flat=True)) == [
        JJ_COMMUNITY,
        SAME_TOWN,
        OTHER_TOWN,
    ]


def test_a_queryset_that_declares_no_path_shows_nothing(located):
    class Forgetful(LocatedQuerySet):
        pass

    class ForgotTheColumns(LocatedQuerySet):
        located_path = ""
        located_columns = {}

    city = ACTORS["city"]
    assert Person.objects.visible_to(city).count() == len(PLACES)
    assert list(Forgetful(model=Person).visible_to(city)) == []
    assert list(ForgotTheColumns(model=Person).visible_to(city)) == []
    assert list(LocatedQuerySet(model=Site).visible_to(city)) == []


def test_a_round_is_visible_where_its_scope_and_the_actor_overlap(db):
    now = timezone.now()
    rounds = {}
    for scope in ("3505", JINJIANG, JJ_TOWN, OTHER_TOWN, LC_COMMUNITY):
        rounds[scope] = Round.objects.create(code=f"R-{scope}", name=scope, starts_at=now, deadline_at=now)
        RoundScope.objects.create(round=rounds[scope], division_id=scope)
    for someone in ACTORS.values():
        seen = set(Round.objects.visible_to(someone).values_list("code", flat=True))
        assert seen == {f"R-{s}" for s in rounds if codes.overlapping(s, someone.codes)}, someone.codes
    assert not Round.objects.visible_to(of()).exists()


def test_divisions_inside_and_with_their_ancestors(db):
    town = of(JJ_TOWN)
    inside = set(Division.objects.inside(town).values_list("code", flat=True))
    assert inside == set(Division.objects.filter(code__startswith=JJ_TOWN).values_list("code", flat=True))
    assert JJ_COMMUNITY in inside and JJ_TOWN in inside and OTHER_TOWN not in inside
    visible = set(Division.objects.visible_to(town).values_list("code", flat=True))
    assert visible == inside | {"35", "3505", JINJIANG}
    assert not Division.objects.visible_to(of()).exists()
    assert not Division.objects.inside(of()).exists()


@pytest.mark.parametrize(
    ("area", "expected"),
    [
        (["3505"], [("county_code", "3505", True)]),
        ([JINJIANG], [("county_code", JINJIANG, False)]),
        ([JJ_TOWN], [("town_code", JJ_TOWN, False)]),
        ([JJ_COMMUNITY], [("community_id", JJ_COMMUNITY, False)]),
        ([], []),
    ],
)
def test_code_lookups_are_exact_on_the_column_of_their_length(area, expected):
    assert codes.lookups(area) == expected


def test_code_lookups_on_a_single_column_are_prefixes_above_it():
    assert codes.lookups([JINJIANG, JJ_COMMUNITY], {12: "code"}) == [
        ("code", JINJIANG, True),
        ("code", JJ_COMMUNITY, False),
    ]
    assert codes.lookups([JJ_COMMUNITY], {6: "county_code"}) == []  # below every column: nothing
    assert codes.where([], "p") == ("(1 = 0)", [])
    assert codes.where(["35", JJ_TOWN], "p") == (
        "(p.county_code LIKE %s OR p.town_code = %s)",
        ["35%", JJ_TOWN],
    )


def test_within_narrows_to_an_area_and_denies_without_a_path(db):
    """``within(area)`` is the page's area filter on the same declared columns as ``visible_to``."""
    from lianfang.people.models import Person
    from tests.conftest import make_person

    inside = make_person(id_number=rid("350582", "19800101", "091"), community_code=JJ_COMMUNITY)
    make_person(id_number=rid("350502", "19800101", "092"), community_code=LC_COMMUNITY)
    assert list(Person.objects.within([JJ_TOWN])) == [inside]
    assert list(Person.objects.within([])) == []
    assert not LocatedQuerySet(model=Person).within(["3505"]).exists()
