"""``lianfang zones status --at T --json`` end to end: zones, the registry, a round's samples and
results imported through the CLI, cases and plans stated by a stand-in for the tracing app."""

from __future__ import annotations

import json

import pytest

from lianfang.core.facts import CaseFact, PlanFact
from lianfang.core.times import parse_time
from lianfang.protocol import edition
from lianfang.protocol.plans import contact_plan
from tests.conftest import make_person, rid
from tests.screening.helpers import RESULT_HEADER, SAMPLE_HEADER, result, sample, write_csv

A, B, LC = "350582001004", "350582001005", "350502001001"
ADULT = rid("350582", "19800101", "011")
INFANT = rid("350582", "20210601", "022")
OTHER = rid("350582", "19700101", "033")  # lives in B


def cli(capsys, *args):
    from lianfang.cli import main

    with pytest.raises(SystemExit) as exc:
        main([str(a) for a in args])
    out, err = capsys.readouterr()
    return exc.value.code, out, err


def status(capsys, at: str) -> dict:
    code, out, err = cli(capsys, "zones", "status", "--at", at, "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["at"] == f"{at}:00"  # report times: Asia/Shanghai, seconds written
    return {z["zone_code"]: z for z in doc["zones"]}


def imported(capsys, kind, path) -> dict:
    code, out, err = cli(capsys, "import", kind, path, "--json")
    assert code == 0, err
    return json.loads(out)


@pytest.fixture
def city(db, tmp_path, capsys, tracing_facts):
    make_person(id_number=ADULT, name="王芳", community_code=A)
    make_person(id_number=INFANT, name="王宝", community_code=A)
    make_person(id_number=OTHER, name="李强", community_code=B)
    write_csv(tmp_path / "sites.csv", ["site_code", "name", "community_code"],
              [{"site_code": "S01", "name": "一号点", "community_code": A}])  # fmt: skip
    write_csv(tmp_path / "labs.csv", ["lab_code", "name"], [{"lab_code": "L01", "name": "一检"}])
    for kind in ("sites", "labs"):
        assert imported(capsys, kind, tmp_path / f"{kind}.csv")["accepted"] == 1
    code, _, err = cli(capsys, "round", "open", "R1", "--scope", "350582", "--start", "2022-03-25 08:00")
    assert code == 0, err
    (tmp_path / "zones.csv").write_text(
        "zone_code,name,type,area,designated_at\n"
        f"S1,一号封控区,封控区,{A},2022-03-10 10:00\n"
        f"C1,二号管控区,管控区,{B},2022-03-10 10:00\n"
        f"P1,晋江防范区,防范区,350582002001,2022-03-10 10:00\n"
        f"P2,鲤城防范区,防范区,{LC},2022-03-10 10:00\n",
        encoding="utf-8",
    )
    assert imported(capsys, "zones", tmp_path / "zones.csv")["accepted"] == 4
    tracing_facts.CASES.extend(
        [
            case("CA", A, "2022-03-12 08:00"),
            case("CQ", A, "2022-03-14 08:00", found_in="quarantine"),
            case("CB", B, "2022-03-16 09:00"),
        ]
    )
    plan = contact_plan(
        edition("p9"), "close", parse_time("2022-03-12 07:00"), parse_time("2022-03-12 12:00")
    )
    tracing_facts.PLANS.append(
        PlanFact(
            "resident_id",
            rid("350582", "19900101", "044"),
            "密接",
            "close",
            "CA",
            A,
            parse_time("2022-03-12 12:00"),
            None,
            plan,
        )  # fmt: skip
    )
    return tmp_path


def case(code, community, reported, found_in="screening"):
    return CaseFact(code, "resident_id", rid("350582", "19950101", "0" + str(len(code)) + "1"), community,
                    "confirmed", found_in, parse_time(reported))  # fmt: skip


def test_status_at_several_instants(city, capsys, tmp_path):
    early = status(capsys, "2022-03-13 00:00")
    assert early["S1"] == {
        "zone_code": "S1",
        "type": "sealed",
        "regime": "community-2022",
        "clock_from": "2022-03-12 08:00:00",
        "proposal": None,
        "eligible_at": "2022-03-26 08:00:00",
    }
    assert (early["C1"]["proposal"], early["P1"]["proposal"], early["P2"]["proposal"]) == (None, None, "lift")
    assert status(capsys, "2022-03-16 09:00")["C1"]["proposal"] == "upgrade"
    # the adult of S1 sampled alone on 03-25, negative the same evening; the infant is exempt
    write_csv(tmp_path / "s.csv", SAMPLE_HEADER, [sample("T1", ADULT, pool="1", at="2022-03-25 10:00")])
    assert imported(capsys, "samples", tmp_path / "s.csv")["accepted"] == 1
    assert status(capsys, "2022-03-26 09:00")["S1"]["proposal"] is None  # no result yet
    write_csv(tmp_path / "r.csv", RESULT_HEADER, [result("T1", "阴性", at="2022-03-25 18:00")])
    assert imported(capsys, "results", tmp_path / "r.csv")["accepted"] == 1
    assert status(capsys, "2022-03-26 07:59")["S1"]["proposal"] is None  # 14 days not yet
    assert status(capsys, "2022-03-26 09:00")["S1"]["proposal"] == "lift"
    assert status(capsys, "2022-03-27 10:01")["S1"]["proposal"] is None  # the round is over 2 days old
    assert status(capsys, "2022-03-10 09:59") == {}
    # the zone page's path (round condition counted in the database) agrees with the command's
    from lianfang.zones.facts import zone_status_now, zones_status
    from lianfang.zones.models import Zone

    for at in ("2022-03-26 07:59", "2022-03-26 09:00", "2022-03-27 10:01", "2022-03-30 00:00"):
        for zone in Zone.objects.all():
            slow = next((s for s in zones_status(parse_time(at), [zone])), None)
            fast = zone_status_now(zone, parse_time(at))
            assert (slow and slow.as_json()) == (fast and fast.as_json()), (at, zone.code)
            assert [c.holds for c in slow.conditions] == [c.holds for c in fast.conditions], (at, zone.code)


def test_lifting_by_file_is_history_and_precaution_follows(city, capsys, tmp_path):
    (tmp_path / "lift.csv").write_text(
        "zone_code,name,type,area,designated_at\n"
        f"S1,一号封控区,lifted,{A},2022-03-27 10:00\n"
        f"C1,二号管控区,sealed,{B},2022-03-16 12:00\n"
        f"C1,二号管控区,lifted,{B},2022-04-01 12:00\n",
        encoding="utf-8",
    )
    assert imported(capsys, "zones", tmp_path / "lift.csv")["accepted"] == 3
    got = status(capsys, "2022-03-20 00:00")
    assert (got["C1"]["type"], got["C1"]["clock_from"], got["C1"]["proposal"]) == (
        "sealed", "2022-03-16 12:00:00", None
    )  # fmt: skip
    assert got["P1"]["proposal"] is None
    later = status(capsys, "2022-03-28 00:00")
    assert "S1" not in later and later["P1"]["proposal"] is None  # C1 still sealed
    assert status(capsys, "2022-04-01 12:00")["P1"]["proposal"] == "lift"
    assert status(capsys, "2022-03-13 00:00")["S1"]["type"] == "sealed"  # the past redrawn


def test_without_a_tracing_app_there_are_no_cases(db, capsys, tmp_path):
    (tmp_path / "z.csv").write_text(
        f"zone_code,name,type,area,designated_at\nS1,一号,sealed,{A},2022-03-10 10:00\n", encoding="utf-8"
    )
    assert imported(capsys, "zones", tmp_path / "z.csv")["accepted"] == 1
    assert status(capsys, "2022-03-13 00:00")["S1"]["clock_from"] == "2022-03-10 10:00:00"
    code, _, err = cli(capsys, "zones", "status", "--at", "2022-03-13", "--json")
    assert code == 2 and "--at" in err
