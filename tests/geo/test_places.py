"""Compounds and buildings: codes numbered in name order per parent (the migration, and every path
that makes them), and ``lianfang import buildings FILE`` with each of its reasons."""

from __future__ import annotations

import importlib
import json

import pyarrow as pa
import pytest
from django.apps import apps

from lianfang.accounts.models import AuditEvent
from lianfang.accounts.roles import Role
from lianfang.accounts.scoping import Actor
from lianfang.cli import main
from lianfang.core import codes
from lianfang.core.errors import Refused
from lianfang.geo.models import Building, Compound
from lianfang.geo.places import buildings_create, buildings_import, compounds_create
from tests.conftest import JJ_COMMUNITY, LC_COMMUNITY, make_user

JJ2 = "350582001005"
HEADER = "community_code,compound,building\n"


def test_the_migration_numbers_existing_places_in_name_order_per_parent(db):
    migration = importlib.import_module("lianfang.geo.migrations.0002_place_codes")
    b = Compound.objects.create(community_id=JJ_COMMUNITY, name="乙小区", code="x1")
    a = Compound.objects.create(community_id=JJ_COMMUNITY, name="甲小区", code="x2")
    other = Compound.objects.create(community_id=JJ2, name="丙小区", code="x3")
    for i, name in enumerate(["3号楼", "1号楼", "2号楼"]):
        Building.objects.create(compound=a, name=name, code=f"y{i}")
    Building.objects.create(compound=other, name="1号楼", code="z")
    migration.number_places(apps, None)
    got = dict(Compound.objects.values_list("name", "code"))
    # names compare by code point: 乙 (U+4E59) before 甲 (U+7532)
    assert got == {"乙小区": f"{JJ_COMMUNITY}-001", "甲小区": f"{JJ_COMMUNITY}-002", "丙小区": f"{JJ2}-001"}
    assert b.pk and dict(Building.objects.filter(compound=a).values_list("name", "code")) == {
        "1号楼": f"{JJ_COMMUNITY}-002-01",
        "2号楼": f"{JJ_COMMUNITY}-002-02",
        "3号楼": f"{JJ_COMMUNITY}-002-03",
    }
    assert Building.objects.get(compound=other).code == f"{JJ2}-001-01"


def test_new_places_are_numbered_after_the_highest(db):
    (first,) = compounds_create([(JJ_COMMUNITY, "B园")])
    assert first.code == f"{JJ_COMMUNITY}-001"
    Compound.objects.filter(pk=first.pk).update(code=f"{JJ_COMMUNITY}-007")  # a gap
    created = compounds_create([(JJ_COMMUNITY, "D园"), (JJ_COMMUNITY, "C园"), (JJ_COMMUNITY, "B园")])
    assert [(c.name, c.code) for c in created] == [
        ("C园", f"{JJ_COMMUNITY}-008"),
        ("D园", f"{JJ_COMMUNITY}-009"),
    ]
    first.refresh_from_db()
    made = buildings_create([(first, "2栋"), (first, "1栋")])
    assert [(b.name, b.code) for b in made] == [("1栋", f"{first.code}-01"), ("2栋", f"{first.code}-02")]
    assert buildings_create([(first, "1栋")]) == []  # known: nothing made


def cli(capsys, *args):
    with pytest.raises(SystemExit) as exc:
        main([str(a) for a in args])
    out, err = capsys.readouterr()
    return exc.value.code, out, err


def run(tmp_path, capsys, body: str):
    path = tmp_path / "buildings.csv"
    path.write_text(HEADER + body, encoding="utf-8-sig")
    code, out, err = cli(capsys, "import", "buildings", path, "--json", "--rejects", tmp_path / "rejects.csv")
    assert code == 0, err
    summary = json.loads(out.strip().splitlines()[-1])
    assert (
        summary["read"] == summary["accepted"] + summary["duplicate"] + summary["held"] + summary["rejected"]
    )
    return summary


def test_every_reason_counts_add_up_and_a_reimport_is_duplicate(db, tmp_path, capsys):
    body = (
        f"{JJ_COMMUNITY},阳光花园,1号楼\n"  # accepted: compound and building
        f"{JJ_COMMUNITY},阳光花园,2号楼\n"  # accepted: a building of the compound of the row above
        f"{JJ_COMMUNITY},阳光花园,1号楼\n"  # the same again: duplicate
        f"{JJ_COMMUNITY},月亮湾,\n"  # accepted: a compound alone
        f"{JJ_COMMUNITY},,3号楼\n"  # missing_field:compound
        f",阳光花园,3号楼\n"  # missing_field:community_code
        f"350582001,阳光花园,3号楼\n"  # a town code: unknown_community
        f"999999999999,阳光花园,3号楼\n"  # no such community
        f"{JJ2},阳光花园,1号楼\n"  # same names, another community: accepted
    )
    summary = run(tmp_path, capsys, body)
    assert summary == {
        "read": 9,
        "accepted": 4,
        "duplicate": 1,
        "held": 0,
        "rejected": 4,
        "reasons": {"missing_field:community_code": 1, "missing_field:compound": 1, "unknown_community": 2},
    }
    rejects = (tmp_path / "rejects.csv").read_text(encoding="utf-8-sig").splitlines()
    assert rejects[0].endswith(",reason") and len(rejects) == 5
    sun = Compound.objects.get(community_id=JJ_COMMUNITY, name="阳光花园")
    assert sun.code == f"{JJ_COMMUNITY}-001"
    assert Compound.objects.get(community_id=JJ_COMMUNITY, name="月亮湾").code == f"{JJ_COMMUNITY}-002"
    assert dict(sun.buildings.values_list("name", "code")) == {
        "1号楼": f"{JJ_COMMUNITY}-001-01",
        "2号楼": f"{JJ_COMMUNITY}-001-02",
    }
    assert Building.objects.get(compound__community_id=JJ2).code == f"{JJ2}-001-01"
    before = sorted(Building.objects.values_list("code", flat=True))
    again = run(tmp_path, capsys, body)
    assert (again["accepted"], again["duplicate"], again["rejected"]) == (0, 5, 4)
    assert sorted(Building.objects.values_list("code", flat=True)) == before
    assert AuditEvent.objects.filter(action="import", object_type="buildings").count() == 2


def test_a_full_compound_is_refused_in_both_languages(db, tmp_path, capsys):
    (full,) = compounds_create([(JJ_COMMUNITY, "满园")])
    Building.objects.create(compound=full, name="末栋", code=codes.building_code(full.code, 999))
    summary = run(tmp_path, capsys, f"{JJ_COMMUNITY},满园,新栋\n{JJ_COMMUNITY},新园,1栋\n")
    assert summary["reasons"] == {"too_many_places": 1} and summary["accepted"] == 1
    assert not Building.objects.filter(name="新栋").exists()
    from lianfang.core.summary import registered_reasons

    zh, en = registered_reasons()["too_many_places"]
    assert "999" in zh and "999" in en


def test_a_user_registers_places_only_in_their_jurisdiction(db):
    worker = Actor.for_user(make_user("jj_grid", Role.COMMUNITY_WORKER, ["350582"]))
    table = pa.Table.from_pylist(
        [
            {"community_code": JJ_COMMUNITY, "compound": "本县小区", "building": "1栋"},
            {"community_code": LC_COMMUNITY, "compound": "外县小区", "building": "1栋"},
        ]
    )
    summary, outcomes = buildings_import(table=table, actor=worker, source="t")
    assert list(outcomes) == ["accepted", "unknown_community"]
    assert not Compound.objects.filter(community_id=LC_COMMUNITY).exists()
    volunteer = Actor.for_user(make_user("jj_vol", Role.VOLUNTEER, ["350582"]))
    with pytest.raises(Refused):
        buildings_import(table=table, actor=volunteer, source="t")
