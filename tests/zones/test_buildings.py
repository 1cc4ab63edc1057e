"""Zones drawn by compound or building (issue 13, items 1 and 4): the file and the form take their
codes, the area rows keep the community (scoping unchanged), the people inside and the clock go by
the registry's building, the map lists them (no coordinates)."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from django.utils import timezone

from lianfang.accounts.roles import Role
from lianfang.cli import main
from lianfang.core.facts import CaseFact
from lianfang.geo.models import Division, Level
from lianfang.geo.places import buildings_create, compounds_create
from lianfang.people.models import Person
from lianfang.zones import facts as zone_facts
from lianfang.zones.models import Zone, ZoneArea
from lianfang.zones.panels import person_zones
from tests.conftest import JJ_COMMUNITY, LC_COMMUNITY, logged_in, make_person, make_user, rid

JJ2 = "350582001005"


@pytest.fixture
def commander(db):
    return make_user("jj_cmd", Role.COMMANDER, ["350582"])


@pytest.fixture
def places(db):
    """Compound 阳光花园 (buildings 1号楼 A, 2号楼 B) and 月亮湾 (1号楼) in JJ_COMMUNITY, one in
    Licheng; a resident in each building of 阳光花园, one known only by community, one in 月亮湾."""
    made = {c.name: c for c in compounds_create([(JJ_COMMUNITY, "阳光花园"), (JJ_COMMUNITY, "月亮湾")])}
    sun, moon = made["阳光花园"], made["月亮湾"]
    (lc,) = compounds_create([(LC_COMMUNITY, "鲤城小区")])
    a, b = buildings_create([(sun, "1号楼"), (sun, "2号楼")])
    (m,) = buildings_create([(moon, "1号楼")])
    (lcb,) = buildings_create([(lc, "1号楼")])
    people = {}
    for key, building, seq in (("a", a, "011"), ("b", b, "022"), ("c", None, "033"), ("m", m, "044")):
        person = make_person(id_number=rid("350582", "19800101", seq), name=f"居民{key.upper()}")
        Person.objects.filter(pk=person.pk).update(building=building)
        people[key] = person
    return {"sun": sun, "moon": moon, "a": a, "b": b, "m": m, "lc": lcb, "people": people}


def designate(client, area, code="Z1", **kw):
    data = {"code": code, "name": "楼栋封控区", "type": "sealed", "area": area, "designated_at": ""}
    data.update(kw)
    return client.post("/zones/", data)


def cli(capsys, tmp_path, body):
    path = tmp_path / "zones.csv"
    path.write_text("zone_code,name,type,area,designated_at\n" + body, encoding="utf-8-sig")
    with pytest.raises(SystemExit) as exc:
        main(["import", "zones", str(path), "--json"])
    out, err = capsys.readouterr()
    assert exc.value.code == 0, err
    summary = json.loads(out.strip().splitlines()[-1])
    assert (
        summary["read"] == summary["accepted"] + summary["duplicate"] + summary["held"] + summary["rejected"]
    )
    return summary


def test_zones_csv_takes_compound_and_building_codes(places, tmp_path, capsys):
    a, sun = places["a"].code, places["sun"].code
    body = (
        f"Z1,一号楼封控,sealed,{a},2022-03-10 10:00\n"  # a building: accepted
        f"Z2,阳光花园管控,controlled,{sun};{JJ2},2022-03-10 10:00\n"  # a compound and a community
        f"Z3,未知楼,sealed,{sun}-99,2022-03-10 10:00\n"  # well-formed, no such building
        f"Z4,未知小区,sealed,{JJ_COMMUNITY}-999,2022-03-10 10:00\n"  # no such compound
        f"Z5,坏代码,sealed,{JJ_COMMUNITY}-1,2022-03-10 10:00\n"  # not a code
        f"Z6,乡镇,sealed,350582001-001,2022-03-10 10:00\n"  # a town with a suffix
        f"Z7,乡镇,sealed,350582001,2022-03-10 10:00\n"  # a town code: still unknown_area
    )
    summary = cli(capsys, tmp_path, body)
    assert (summary["accepted"], summary["reasons"]) == (2, {"unknown_area": 5})
    rows = sorted(ZoneArea.objects.values_list("zone__code", "community_id", "place_code", "county_code"))
    assert rows == [
        ("Z1", JJ_COMMUNITY, a, "350582"),
        ("Z2", JJ_COMMUNITY, sun, "350582"),
        ("Z2", JJ2, None, "350582"),
    ]
    again = cli(capsys, tmp_path, body)
    assert (again["accepted"], again["duplicate"]) == (0, 2)


def test_two_buildings_of_one_community_make_two_area_rows(places, commander):
    response = designate(logged_in(commander), f"{places['a'].code}, {places['b'].code}")
    assert response.status_code == 302
    assert sorted(ZoneArea.objects.values_list("community_id", "place_code")) == [
        (JJ_COMMUNITY, places["a"].code),
        (JJ_COMMUNITY, places["b"].code),
    ]


def test_the_form_refuses_another_countys_building_and_an_unknown_one(places, commander):
    client = logged_in(commander)
    for area in (places["lc"].code, f"{places['sun'].code}-77"):
        response = designate(client, area)
        assert response.status_code == 400 and "inside your jurisdiction" in response.content.decode()
    assert not Zone.objects.exists()


def test_scoping_of_a_building_zone_follows_its_community(places, commander):
    designate(logged_in(commander), places["a"].code)
    licheng = make_user("lc_cmd", Role.COMMANDER, ["350502"])
    town = make_user("jj_town", Role.COMMANDER, ["350582001"])
    other_town = make_user("jj_town2", Role.COMMANDER, ["350582002"])
    for user, status in ((licheng, 404), (other_town, 404), (town, 200), (commander, 200)):
        assert logged_in(user).get("/zones/Z1/").status_code == status, user.username
    assert "Z1" not in logged_in(licheng).get("/zones/").content.decode()


def test_people_inside_a_building_zone_are_its_residents(places, commander):
    client = logged_in(commander)
    designate(client, places["a"].code)
    page = client.get("/zones/Z1/residents/").content.decode()
    assert "居民A" in page and "居民B" not in page and "居民C" not in page and "居民M" not in page
    zone_page = client.get("/zones/Z1/").content.decode()
    assert re.search(r'id="residents-count">1<', zone_page)
    assert "阳光花园1号楼" in zone_page  # the area named, not only coded
    designate(client, places["sun"].code, code="Z2")
    page = client.get("/zones/Z2/residents/").content.decode()
    assert "居民A" in page and "居民B" in page and "居民C" not in page and "居民M" not in page
    assert re.search(r'id="residents-count">2<', client.get("/zones/Z2/").content.decode())
    designate(client, JJ_COMMUNITY, code="Z3")  # the whole community: everyone, as before
    page = client.get("/zones/Z3/residents/").content.decode()
    assert all(f"居民{k}" in page for k in "ABCM")


def test_the_clock_places_cases_by_their_registry_building(places, commander, tracing_facts):
    client = logged_in(commander)
    two_days_ago = timezone.localtime(timezone.now() - dt.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    designate(client, places["a"].code, code="ZA", type="controlled", designated_at=two_days_ago)
    designate(client, places["b"].code, code="ZB", type="controlled", designated_at=two_days_ago)
    designate(client, JJ_COMMUNITY, code="ZC", type="controlled", designated_at=two_days_ago)
    hour_ago = timezone.now() - dt.timedelta(hours=1)
    for code, person in (("KA", places["people"]["a"]), ("KU", None)):
        id_number = person.id_number if person else rid("350582", "19900101", "099")  # not in the registry
        tracing_facts.CASES.append(
            CaseFact(code, "resident_id", id_number, JJ_COMMUNITY, "confirmed", "screening", hour_ago)
        )
    statuses = {s.state.zone_code: s for s in zone_facts.zones_status(timezone.now())}
    assert statuses["ZA"].reset_by == "KA" and statuses["ZA"].proposal == "upgrade"
    assert (
        statuses["ZB"].reset_by is None and statuses["ZB"].proposal is None
    )  # same community, other building
    assert statuses["ZC"].reset_by in ("KA", "KU") and statuses["ZC"].proposal == "upgrade"
    tracing_facts.CASES[:] = [c for c in tracing_facts.CASES if c.case_code == "KU"]
    statuses = {s.state.zone_code: s for s in zone_facts.zones_status(timezone.now())}
    assert statuses["ZA"].reset_by is None  # known only by community: not inside a building zone
    assert statuses["ZC"].reset_by == "KU"
    # the zone page reads the same (its round condition asked of the database)
    tracing_facts.CASES.append(
        CaseFact("KA", "resident_id", places["people"]["a"].id_number, JJ_COMMUNITY, "confirmed", "screening",
                 hour_ago)
    )  # fmt: skip
    assert "KA" in client.get("/zones/ZA/").content.decode()
    assert "KA" not in client.get("/zones/ZB/").content.decode()


def test_facts_place_residents_by_building(places, commander):
    designate(logged_in(commander), places["a"].code)
    hist = zone_facts.histories()
    facts = zone_facts.facts_at(timezone.now(), hist)
    by_name = {r.id_number: r.place for r in facts.residents}
    people = places["people"]
    assert by_name[people["a"].id_number] == places["a"].code
    assert by_name[people["c"].id_number] == JJ_COMMUNITY


def test_the_person_page_panel_follows_the_building(places, commander):
    designate(logged_in(commander), places["a"].code)
    people = places["people"]
    assert person_zones(person=Person.objects.get(pk=people["a"].pk), actor=None)["zone_changes"]
    assert person_zones(person=Person.objects.get(pk=people["b"].pk), actor=None) is None
    assert person_zones(person=Person.objects.get(pk=people["c"].pk), actor=None) is None


def test_the_map_says_a_building_zone_has_no_coordinates_and_lists_its_buildings(places, commander):
    client = logged_in(commander)
    designate(client, places["a"].code)
    designate(client, JJ2, code="Z2")
    page = client.get("/zones/map/").content.decode()
    below = page.split('id="below-community"')[1].split("</p>")[0]
    assert "Z1" in below and "Z2" not in below
    data = json.loads(re.search(r'id="zones-data" type="application/json">(.*?)</script>', page, re.S)[1])
    changes = {z["code"]: z["changes"][0] for z in data["zones"]}
    assert changes["Z1"]["places"] == [f"阳光花园1号楼 ({places['a'].code})"]
    assert changes["Z1"]["county_names"] == ["晋江市"] and changes["Z2"]["places"] == []


def test_the_zone_list_names_a_building_zones_buildings_and_counts_a_long_area_in_places(places, commander):
    client = logged_in(commander)
    designate(client, places["a"].code)
    row = client.get("/zones/").content.decode().split('id="zone-table"')[1].split("</table>")[0]
    assert f'data-place="{places["a"].code}">阳光花园1号楼 {places["a"].code}</span>' in row
    many = sorted(  # 11 communities: counted, not listed
        Division.objects.filter(level=Level.COMMUNITY, code__startswith="350582").values_list(
            "code", flat=True
        )
    )[:11]
    designate(client, ",".join(many), code="Z3")
    row = client.get("/zones/").content.decode().split('href="/zones/Z3/"')[1].split("</tr>")[0]
    assert "11 处" in row and "个社区" not in row and many[0] not in row
