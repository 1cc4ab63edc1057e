"""Registry people placed in their buildings from their addresses (issue 13): after the buildings
import, after a persons import, and by ``lianfang places link``; a set building is never changed."""

from __future__ import annotations

import json

import pyarrow as pa
import pytest

from lianfang.accounts.models import AuditEvent
from lianfang.accounts.roles import Role
from lianfang.accounts.scoping import NotPermitted
from lianfang.cli import main
from lianfang.geo.models import Building
from lianfang.geo.places import buildings_create, buildings_import, compounds_create
from lianfang.people.models import Person
from lianfang.people.placing import Placed, place_residents
from lianfang.people.services import persons_import
from tests.conftest import JJ_COMMUNITY, LC_COMMUNITY, actor, logged_in, make_user, rid

JJ2 = "350582001005"  # 锦青社区居委会, the same town (青阳街道) as JJ_COMMUNITY (青新社区居委会)
PERSONS_HEADER = "id_number,name,community_code,address\n"


def person_rows():
    """(key, community, address): three placeable in 阳光花园, the rest not."""
    return [
        ("a", JJ_COMMUNITY, "青新社区 阳光花园3栋2单元501室"),  # the simulator's form
        ("b", JJ_COMMUNITY, "青新社区居委会阳光花园13栋101"),  # the full name, building 13
        ("c", JJ_COMMUNITY, "青阳街道阳光花园\u30003栋"),  # the town's name, a full-width space
        ("d", JJ_COMMUNITY, "青新社区阳光花园9栋"),  # a compound, no such building
        ("e", JJ_COMMUNITY, "青新社区星河湾1栋"),  # no such compound
        ("f", JJ_COMMUNITY, ""),  # no address
        ("g", JJ2, "锦青社区 阳光花园3栋"),  # another community: its own places only
    ]


def persons_csv(tmp_path, rows=None):
    lines = [
        f"{rid('350582', '19800101', f'{i:03d}')},居民{key.upper()},{community},{address}"
        for i, (key, community, address) in enumerate(rows or person_rows(), start=1)
    ]
    path = tmp_path / "persons.csv"
    path.write_text(PERSONS_HEADER + "\n".join(lines) + "\n", encoding="utf-8")
    return path


def buildings_csv(tmp_path, rows):
    path = tmp_path / "buildings.csv"
    path.write_text("community_code,compound,building\n" + "".join(f"{r}\n" for r in rows), encoding="utf-8")
    return path


BUILDINGS = [f"{JJ_COMMUNITY},阳光花园,3栋", f"{JJ_COMMUNITY},阳光花园,13栋", f"{JJ_COMMUNITY},星河湾,"]


def run(capsys, *argv):
    with pytest.raises(SystemExit) as exc:
        main(list(argv))
    out, err = capsys.readouterr()
    return exc.value.code, out, err


def placed():
    """name → building name (None: not placed)."""
    return {
        name: building
        for name, building in Person.objects.values_list("name", "building__name").order_by("name")
    }


def test_the_buildings_import_places_people_already_in_the_registry(db, tmp_path, capsys):
    assert run(capsys, "import", "persons", str(persons_csv(tmp_path)))[0] == 0
    assert not Person.objects.filter(building__isnull=False).exists()  # no buildings yet
    code, out, err = run(capsys, "import", "buildings", str(buildings_csv(tmp_path, BUILDINGS)))
    assert code == 0, err
    assert "residents_placed 3  residents_unmatched 3" in out  # d, e, f; g's community has none
    assert placed() == {
        "居民A": "3栋",
        "居民B": "13栋",
        "居民C": "3栋",
        "居民D": None,
        "居民E": None,
        "居民F": None,
        "居民G": None,
    }
    event = AuditEvent.objects.get(object_type="places")
    assert event.action == "update" and event.detail == {"linked": 3, "unmatched": 3, "communities": 1}
    # --json stays FORMATS' summary object: placing is not a row outcome
    code, out, _ = run(capsys, "import", "buildings", str(buildings_csv(tmp_path, BUILDINGS)), "--json")
    assert code == 0 and set(json.loads(out)) == {
        "read",
        "accepted",
        "duplicate",
        "held",
        "rejected",
        "reasons",
    }
    assert json.loads(out)["duplicate"] == 3


def test_a_persons_import_places_its_people_and_keeps_its_summary(db, tmp_path, capsys):
    assert run(capsys, "import", "buildings", str(buildings_csv(tmp_path, BUILDINGS)))[0] == 0
    table = pa.Table.from_pylist(
        [
            {"id_number": rid("350582", "19800101", f"{i:03d}"), "name": f"居民{k.upper()}",
             "community_code": c, "address": a}
            for i, (k, c, a) in enumerate(person_rows(), start=1)
        ]
        + [{"id_number": "123", "name": "坏", "community_code": JJ_COMMUNITY, "address": "阳光花园3栋"}]
    )  # fmt: skip
    summary, reasons = persons_import(table=table, actor=None, source="p.csv")
    assert summary.as_dict() == {
        "read": 8, "accepted": 7, "duplicate": 0, "held": 0, "rejected": 1,
        "reasons": {"invalid_id_number": 1},
    }  # fmt: skip
    assert summary.balanced and summary.notes == {
        "residents_placed": 3,
        "residents_unmatched": 3,
    }  # G: no places
    assert sorted(n for n, b in placed().items() if b) == ["居民A", "居民B", "居民C"]


def test_a_set_building_is_never_changed_and_a_rerun_changes_nothing(db, tmp_path, capsys):
    assert run(capsys, "import", "persons", str(persons_csv(tmp_path)))[0] == 0
    (sun,) = compounds_create([(JJ_COMMUNITY, "阳光花园")])
    three, other = buildings_create([(sun, "3栋"), (sun, "5栋")])
    Person.objects.filter(name="居民A").update(building=other)  # set by hand: not where it says
    assert place_residents() == Placed(linked=1, unmatched=4)  # 居民C; b's 13栋 is unknown here
    assert placed()["居民A"] == "5栋" and placed()["居民C"] == "3栋"
    assert place_residents() == Placed(linked=0, unmatched=4)  # the unmatched stay NULL
    assert Person.objects.filter(building__isnull=True).count() == 5
    # a new address in the registry does not move a placed person either
    rows = [("a", JJ_COMMUNITY, "青新社区阳光花园3栋"), *person_rows()[1:]]
    assert run(capsys, "import", "persons", str(persons_csv(tmp_path, rows)))[0] == 0
    assert Person.objects.get(name="居民A").address == "青新社区阳光花园3栋"
    assert placed()["居民A"] == "5栋"
    assert list(Person.objects.filter(building=three).values_list("name", flat=True)) == ["居民C"]


def test_scoping_a_user_places_only_their_jurisdiction_and_needs_the_registry_verb(db, tmp_path, capsys):
    rows = [("a", JJ_COMMUNITY, "青新社区阳光花园3栋"), ("l", LC_COMMUNITY, "金山社区阳光花园3栋")]
    assert run(capsys, "import", "persons", str(persons_csv(tmp_path, rows)))[0] == 0
    for community in (JJ_COMMUNITY, LC_COMMUNITY):
        (sun,) = compounds_create([(community, "阳光花园")])
        buildings_create([(sun, "3栋")])
    tracer = actor(make_user("tracer", Role.TRACER, ["350582"]))
    with pytest.raises(NotPermitted):
        place_residents(actor=tracer)
    worker = actor(make_user("jj_worker", Role.COMMUNITY_WORKER, ["350582"]))
    assert place_residents([JJ_COMMUNITY, LC_COMMUNITY], actor=worker).linked == 1
    assert placed() == {"居民A": "3栋", "居民L": None}  # Licheng is not theirs
    event = AuditEvent.objects.get(object_type="places")
    assert event.user.username == "jj_worker" and event.detail["linked"] == 1


def test_a_users_buildings_import_places_their_people_and_refuses_another_countys(db, tmp_path, capsys):
    rows = [("a", JJ_COMMUNITY, "青新社区阳光花园3栋"), ("l", LC_COMMUNITY, "金山社区阳光花园3栋")]
    assert run(capsys, "import", "persons", str(persons_csv(tmp_path, rows)))[0] == 0
    worker = actor(make_user("jj_worker", Role.COMMUNITY_WORKER, ["350582"]))
    table = pa.Table.from_pylist(
        [
            {"community_code": JJ_COMMUNITY, "compound": "阳光花园", "building": "3栋"},
            {"community_code": LC_COMMUNITY, "compound": "阳光花园", "building": "3栋"},
        ]
    )
    summary, outcomes = buildings_import(table=table, actor=worker, source="b.csv")
    assert list(outcomes) == ["accepted", "unknown_community"]
    assert summary.notes == {"residents_placed": 1, "residents_unmatched": 0}
    assert placed() == {"居民A": "3栋", "居民L": None}


def test_places_link_on_the_command_line(db, tmp_path, capsys):
    assert run(capsys, "import", "persons", str(persons_csv(tmp_path)))[0] == 0
    for community in (JJ_COMMUNITY, JJ2):
        (sun,) = compounds_create([(community, "阳光花园")])
        buildings_create([(sun, "3栋")])
    code, out, _ = run(capsys, "places", "link", "--community", JJ2)
    assert code == 0 and "residents_placed 1  residents_unmatched 0" in out and "已关联楼栋 1 人" in out
    assert [n for n, b in placed().items() if b] == ["居民G"]
    code, out, _ = run(capsys, "places", "link")
    assert code == 0 and "residents_placed 2  residents_unmatched 4" in out  # a, c; b d e f not
    code, _, err = run(capsys, "places", "link", "--community", "350582001")  # a town
    assert code == 2 and "不是社区（村）代码" in err and err.strip().endswith(": 350582001")
    assert AuditEvent.objects.filter(object_type="places").count() == 2


def test_a_building_zone_finds_people_imported_from_files(db, tmp_path, capsys):
    """End to end through files: the registry, then its buildings, then a zone of one building."""
    assert run(capsys, "import", "persons", str(persons_csv(tmp_path)))[0] == 0
    assert run(capsys, "import", "buildings", str(buildings_csv(tmp_path, BUILDINGS)))[0] == 0
    building = Building.objects.get(compound__community_id=JJ_COMMUNITY, name="3栋")
    zones = tmp_path / "zones.csv"
    zones.write_text(
        f"zone_code,name,type,area,designated_at\nZ1,三栋封控,sealed,{building.code},2022-03-10 10:00\n",
        encoding="utf-8",
    )
    assert run(capsys, "import", "zones", str(zones))[0] == 0
    commander = make_user("jj_cmd", Role.COMMANDER, ["350582"])
    page = logged_in(commander).get("/zones/Z1/residents/").content.decode()
    assert "居民A" in page and "居民C" in page
    assert not any(f"居民{k}" in page for k in "BDEFG")


def test_the_simulators_addresses_place_everyone_back_in_their_own_building(db):
    """Urban ("青新社区 阳光花园3栋2单元501室") and village ("双溪村1组13号") addresses alike: with
    the simulator's buildings forgotten, linking finds each person's own again."""
    from lianfang.simulate.services import population_load

    population_load(persons=300, seed=11)
    truth = dict(Person.objects.values_list("id", "building_id"))
    assert None not in truth.values()
    addresses = list(Person.objects.values_list("address", flat=True))
    assert any("组" in a for a in addresses) and any("单元" in a for a in addresses)  # both forms
    Person.objects.update(building=None)
    assert place_residents() == Placed(linked=len(truth), unmatched=0)
    assert dict(Person.objects.values_list("id", "building_id")) == truth
