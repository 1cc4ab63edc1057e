"""The domains read each other only through the facts they state (``Plugin.provides``); each app's
own tests feed those facts by hand. These tests run the real apps together, end to end through the
CLI: tracing's cases and plans as zones, the daily briefing and companions read them."""

from __future__ import annotations

import csv
import json

from tests.conftest import make_person, rid
from tests.tracing.helpers import case, cli, contact, import_rows

A = "350582001004"  # a Jinjiang community
CASE_ID = rid("350582", "19800101", "011")
CLOSE_ID = rid("350582", "19850505", "031")


def test_a_case_inside_a_controlled_zone_proposes_its_upgrade_and_moves_its_clock(db, capsys, tmp_path):
    (tmp_path / "zones.csv").write_text(
        f"zone_code,name,type,area,designated_at\nZ1,一号管控区,controlled,{A},2022-03-10 10:00\n",
        encoding="utf-8",
    )
    code, out, err = cli(capsys, "import", "zones", tmp_path / "zones.csv", "--json")
    assert code == 0 and json.loads(out)["accepted"] == 1, err
    s = import_rows(
        capsys, tmp_path, "cases", [case("C1", CASE_ID, community_code=A, reported_at="2022-03-20 09:00")]
    )
    assert s["accepted"] == 1, s

    def status(at):
        code, out, err = cli(capsys, "zones", "status", "--at", at, "--json")
        assert code == 0, err
        return {z["zone_code"]: z for z in json.loads(out)["zones"]}

    before = status("2022-03-19 12:00")["Z1"]
    assert before["clock_from"] == "2022-03-10 10:00:00" and before["proposal"] is None
    after = status("2022-03-21 12:00")["Z1"]
    assert after["proposal"] == "upgrade"
    assert after["clock_from"] == "2022-03-20 09:00:00"
    assert after["eligible_at"] == "2022-04-03 09:00:00"  # community-2022: clock + 14 d


def test_the_briefing_counts_tracings_cases_and_close_contacts(db, capsys, tmp_path):
    make_person(id_number=CASE_ID, name="病例甲", community_code=A)
    rows = [
        case("C1", CASE_ID, community_code=A, reported_at="2022-03-25 09:00", found_in="screening"),
        case(
            "C2",
            rid("350582", "19810101", "012"),
            community_code=A,
            reported_at="2022-03-25 23:59:59",
            classification="asymptomatic",
            found_in="quarantine",
        ),  # fmt: skip
        case("C3", rid("350582", "19820101", "013"), community_code=A, reported_at="2022-03-26 00:00"),
    ]
    assert import_rows(capsys, tmp_path, "cases", rows)["accepted"] == 3
    s = import_rows(
        capsys,
        tmp_path,
        "contacts",
        [
            contact(
                CLOSE_ID,
                community_code=A,
                last_exposure_at="2022-03-24 18:00",
                registered_at="2022-03-25 12:00",
            )
        ],
    )
    assert s["accepted"] == 1, s
    code, out, err = cli(capsys, "briefing", "--cutoff", "2022-03-26", "--json")
    assert code == 0, err
    areas = {a["code"]: a for a in json.loads(out)["areas"]}
    jinjiang, city = areas["350582"], areas["3505"]
    for area in (jinjiang, city):
        assert area["new_confirmed"] == 1 and area["new_asymptomatic"] == 1  # C3 is the next day's
        assert area["new_in_society"] == 1 and area["new_in_control"] == 1
        assert area["close_under_control"] == 1
    assert areas["350502"]["new_confirmed"] == 0  # Licheng: zeros, not absent


def test_companions_of_a_case_recorded_by_tracing(db, capsys, tmp_path):
    import_rows(
        capsys,
        tmp_path,
        "cases",
        [case("C1", CASE_ID, phone="13800000001", community_code=A, reported_at="2022-03-21 10:00")],
    )
    pings = tmp_path / "pings.csv"
    pings.write_text(
        "person_key,cell_id,start,end\n"
        "13800000001,CELL1,2022-03-20 08:00,2022-03-20 09:00\n"  # the case, by phone
        "13900000002,CELL1,2022-03-20 08:30,2022-03-20 08:45\n"  # 15 minutes together
        "13900000003,CELL1,2022-03-20 08:55,2022-03-20 09:30\n",  # 5 minutes: not a companion
        encoding="utf-8",
    )
    out_file = tmp_path / "companions.csv"
    code, _, err = cli(capsys, "trace", "companions", "--pings", pings, "--out", out_file)
    assert code == 0, err
    with open(out_file, encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert [(r["person_key"], r["case_code"], r["overlap_minutes"]) for r in rows] == [
        ("13900000002", "C1", "15.0")
    ]
