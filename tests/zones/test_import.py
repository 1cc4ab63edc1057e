"""``lianfang import zones FILE --json``: every reason of the contract from a file that holds it,
counts that add up, history kept, re-import changes nothing."""

from __future__ import annotations

import json

import pytest

from lianfang.cli import main
from lianfang.zones.models import Zone, ZoneChange

HEADER = "zone_code,name,type,area,designated_at\n"
A, B, C = "350582001004", "350582001005", "350502001001"


def cli(capsys, *args):
    with pytest.raises(SystemExit) as exc:
        main([str(a) for a in args])
    out, err = capsys.readouterr()
    return exc.value.code, out, err


def run(tmp_path, capsys, body: str, name="zones.csv"):
    path = tmp_path / name
    path.write_text(HEADER + body, encoding="utf-8-sig")
    code, out, err = cli(capsys, "import", "zones", path, "--json", "--rejects", tmp_path / "rejects.csv")
    assert code == 0, err
    summary = json.loads(out.strip().splitlines()[-1])
    assert (
        summary["read"] == summary["accepted"] + summary["duplicate"] + summary["held"] + summary["rejected"]
    )
    return summary


def test_every_reason_in_order(db, tmp_path, capsys):
    body = (
        f"Z1,一号封控区,sealed,{A},2022-03-10 10:00\n"  # accepted
        f"Z2,,sealed,{A},2022-03-10 10:00\n"  # missing_field:name
        f",无编号,sealed,{A},\n"  # missing_field:zone_code (first in table order)
        f"Z3,三号,orange,{A},bad\n"  # bad_type before bad_time
        f"Z4,四号,管控区,350582001,2022-03-10 10:00\n"  # a town code: unknown_area
        f"Z5,五号,controlled,{A};;{B},2022-03-10 10:00\n"  # empty segment
        f"Z6,六号,controlled,{A};999999999999,2022-03-10 10:00\n"  # unknown community
        f"Z7,七号,HIGH,{A},2022-03-10\n"  # a date alone: bad_time
        f"Z1,一号封控区,sealed,{A},2022-03-10 10:00\n"  # identical again: duplicate
        f"Z1,一号封控区,sealed,{A},2022-03-10 09:00\n"  # earlier: stale_change
        f"Z1,一号封控区,sealed, {B} ; {A} ,2022-03-10 10:00\n"  # same time, other area: stale (equal)
        f"Z1,一号封控区,封控区,{B};{A};{A},2022-03-11 10:00\n"  # a change of area, later: accepted
        f"Z8,八号,解除,{C},2022-03-10 10:00\n"  # lifted from the start: accepted (never in force)
    )
    summary = run(tmp_path, capsys, body)
    assert summary == {
        "read": 13,
        "accepted": 3,
        "duplicate": 1,
        "held": 0,
        "rejected": 9,
        "reasons": {
            "bad_time": 1,
            "bad_type": 1,
            "missing_field:name": 1,
            "missing_field:zone_code": 1,
            "stale_change": 2,
            "unknown_area": 3,
        },
    }
    rejects = (tmp_path / "rejects.csv").read_text(encoding="utf-8-sig").splitlines()
    assert rejects[0].endswith(",reason") and len(rejects) == 10
    assert rejects[-1].endswith(",stale_change")
    z1 = Zone.objects.get(code="Z1")
    assert (z1.type, z1.area) == ("sealed", [A, B])
    assert [(c.type, c.area, c.type_changed) for c in ZoneChange.objects.filter(zone=z1)] == [
        ("sealed", [A], True),
        ("sealed", [A, B], False),
    ]


def test_reimport_changes_nothing_and_old_rows_are_duplicates(db, tmp_path, capsys):
    first = f"Z1,一号,sealed,{A},2022-03-10 10:00\nZ1,一号,lifted,{A},2022-03-30 10:00\nZ1,一号,bad,{A},x\n"
    assert run(tmp_path, capsys, first)["accepted"] == 2
    again = run(tmp_path, capsys, first)
    assert (again["accepted"], again["duplicate"], again["reasons"]) == (0, 2, {"bad_type": 1})
    # an old row (history, not the last change) is a duplicate, not stale_change
    old = run(tmp_path, capsys, f"Z1,一号,sealed,{A},2022-03-10 10:00\n", name="old.csv")
    assert (old["duplicate"], old["rejected"]) == (1, 0)
    assert ZoneChange.objects.count() == 2


def test_chinese_and_english_types(db, tmp_path, capsys):
    body = "".join(
        f"Z{i},区{i},{t},{A},2022-03-10 10:00\n"
        for i, t in enumerate([" Sealed ", "管控区", "防范", "高风险区", "medium", "低风险"])
    )
    assert run(tmp_path, capsys, body)["accepted"] == 6
    assert list(Zone.objects.order_by("code").values_list("type", flat=True)) == [
        "sealed", "controlled", "precaution", "high", "medium", "low"
    ]  # fmt: skip


def test_missing_column_and_extra_cells(db, tmp_path, capsys):
    path = tmp_path / "z.csv"
    path.write_text(f"zone_code,name,type,area\nZ1,一号,sealed,{A}\n", encoding="utf-8")
    code, out, _ = cli(capsys, "import", "zones", path, "--json")
    assert json.loads(out)["reasons"] == {"missing_field:designated_at": 1}
    summary = run(tmp_path, capsys, f"Z1,一号,sealed,{A},2022-03-10 10:00,extra\n")
    assert summary["reasons"] == {"extra_cells": 1}
