"""The operator's commands in-process: `lianfang round open|close|report` and `lianfang import … --json`."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from lianfang.cli import main
from lianfang.screening.models import Round, RoundScope
from tests.conftest import JJ_COMMUNITY, make_person, rid
from tests.screening.helpers import RESULT_HEADER, SAMPLE_HEADER, read_csv, result, sample, write_csv

A = rid("350582", "19800101", "011")
B = rid("350582", "19811111", "022")

HEADERS = {
    "coverage.csv": "county_code,town_code,community_code,community_name,expected,exempt,sampled,negative,"
    "pending,invalid,abnormal,untested,coverage",
    "untested.csv": "community_code,id_type,id_number,name,phone,address,tags",
    "recheck.csv": "tube_barcode,reason,id_type,id_number,name,phone,community_code,site_code,collected_at",
    "pending_tubes.csv": "tube_barcode,site_code,box_code,collected_at,members",
}
SUMMARY_KEYS = [
    "round",
    "expected",
    "exempt",
    "sampled",
    "sampled_unregistered",
    "sampled_out_of_scope",
    "negative",
    "pending",
    "invalid",
    "abnormal",
    "untested",
    "tubes",
    "tubes_abnormal",
    "results_held",
]


def cli(capsys, *args) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main([str(a) for a in args])
    out, err = capsys.readouterr()
    return exc.value.code, out, err


def json_line(out: str) -> dict:
    lines = [line for line in out.splitlines() if line.strip()]
    assert len(lines) == 1, out  # one JSON object, nothing else
    return json.loads(lines[0])


@pytest.fixture
def ready(db, tmp_path, capsys):
    """Sites and labs imported through the CLI, round R1 opened over Jinjiang."""
    write_csv(
        tmp_path / "sites.csv",
        ["site_code", "name", "community_code"],
        [{"site_code": "S01", "name": "一号点", "community_code": JJ_COMMUNITY}],
    )
    write_csv(tmp_path / "labs.csv", ["lab_code", "name"], [{"lab_code": "L01", "name": "一检"}])
    for kind in ("sites", "labs"):
        code, out, _ = cli(capsys, "import", kind, tmp_path / f"{kind}.csv", "--json")
        assert code == 0 and json_line(out)["accepted"] == 1
    code, out, err = cli(capsys, "round", "open", "R1", "--name", "第一轮", "--scope", "350582",
                         "--start", "2022-03-28 06:00")  # fmt: skip
    assert code == 0, err
    assert "R1" in out
    return tmp_path


def test_round_open_is_idempotent_with_the_same_scope(ready, capsys):
    rnd = Round.objects.get(code="R1")
    assert rnd.scope == ["350582"] and rnd.starts_at == dt.datetime(2022, 3, 27, 22, 0, tzinfo=dt.UTC)
    assert rnd.deadline_at - rnd.starts_at == dt.timedelta(hours=24)
    code, _, err = cli(capsys, "round", "open", "R1", "--scope", "350582")
    assert code == 0, err
    assert Round.objects.count() == 1 and RoundScope.objects.filter(round=rnd).count() == 1


def test_round_open_with_another_scope_is_refused(ready, capsys):
    code, out, err = cli(capsys, "round", "open", "R1", "--scope", "350582,350502")
    assert code != 0
    assert "R1" in err and "another scope" in err
    assert Round.objects.get(code="R1").scope == ["350582"]


def test_round_open_unknown_division_is_refused(db, capsys):
    code, _, err = cli(capsys, "round", "open", "R9", "--scope", "350582", "--scope", "350599")
    assert code != 0
    assert "350599" in err
    assert not Round.objects.filter(code="R9").exists()
    code, _, err = cli(capsys, "round", "open", "R9", "--scope", "350582", "--start", "tomorrow")
    assert code != 0 and "--start" in err


def test_round_close_then_samples_are_round_closed(ready, capsys):
    make_person(id_number=A, name="陈建国")
    code, out, _ = cli(capsys, "round", "close", "R1")
    assert code == 0
    assert Round.objects.get(code="R1").status == "closed"
    path = write_csv(ready / "samples.csv", SAMPLE_HEADER, [sample("T1", A, site="S01")])
    code, out, _ = cli(capsys, "import", "samples", path, "--json", "--rejects", ready / "rejects.csv")
    assert code == 0
    assert json_line(out) == {
        "read": 1,
        "accepted": 0,
        "duplicate": 0,
        "held": 0,
        "rejected": 1,
        "reasons": {"round_closed": 1},
    }
    assert [r["reason"] for r in read_csv(ready / "rejects.csv")] == ["round_closed"]
    code, _, err = cli(capsys, "round", "close", "NOPE")
    assert code != 0 and "NOPE" in err


def test_import_samples_and_results_json(ready, capsys):
    make_person(id_number=A, name="陈建国")
    rows = [sample("T1", A), sample("T1", B, name="访客"), sample("T1", A), sample("T2", A, site="S404")]
    path = write_csv(ready / "samples.csv", SAMPLE_HEADER, rows)
    code, out, _ = cli(capsys, "import", "samples", path, "--json")
    assert code == 0
    summary = json_line(out)
    assert list(summary) == ["read", "accepted", "duplicate", "held", "rejected", "reasons"]
    assert summary == {
        "read": 4,
        "accepted": 2,
        "duplicate": 1,
        "held": 0,
        "rejected": 1,
        "reasons": {"unknown_site": 1},
    }
    path = write_csv(ready / "results.csv", RESULT_HEADER, [result("T1", "阳性"), result("T9", "阴性")])
    code, out, _ = cli(capsys, "import", "results", path, "--json")
    assert code == 0
    assert json_line(out) == {
        "read": 2,
        "accepted": 1,
        "duplicate": 0,
        "held": 1,
        "rejected": 0,
        "reasons": {},
    }
    # Without --json: a readable summary, with the reason explained.
    code, out, _ = cli(capsys, "import", "samples", ready / "samples.csv")
    assert code == 0 and "read 4" in out and "unknown_site: 1" in out


def test_unreadable_files_exit_2(ready, capsys):
    code, out, err = cli(capsys, "import", "samples", ready / "nope.csv", "--json")
    assert code == 2 and "nope.csv" in err and out == ""
    bad = ready / "latin1.csv"
    bad.write_bytes(",".join(SAMPLE_HEADER).encode() + b"\nR1,T1,5,,caf\xe9,,S01,2022-03-28 09:00,\n")
    code, out, err = cli(capsys, "import", "samples", bad, "--json")
    assert code == 2 and out == "" and err
    binary = ready / "photo.csv"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    code, out, err = cli(capsys, "import", "results", binary, "--json")
    assert code == 2 and out == "" and err


def test_round_report_writes_exactly_the_five_files(ready, capsys):
    make_person(id_number=A, name="陈建国", phone="13805951234")
    make_person(id_number=B, name="林美玲")
    write_csv(ready / "samples.csv", SAMPLE_HEADER, [sample("T1", A, at="2022-03-28T01:00:00Z")])
    assert cli(capsys, "import", "samples", ready / "samples.csv")[0] == 0
    out_dir = ready / "report"
    code, out, err = cli(capsys, "round", "report", "R1", "--out", out_dir)
    assert code == 0, err
    assert sorted(p.name for p in out_dir.iterdir()) == sorted([*HEADERS, "summary.json"])
    for name, header in HEADERS.items():
        lines = (out_dir / name).read_text(encoding="utf-8").splitlines()
        assert lines[0] == header, name
    assert (out_dir / "recheck.csv").read_text(encoding="utf-8") == HEADERS["recheck.csv"] + "\n"
    assert read_csv(out_dir / "pending_tubes.csv") == [
        {"tube_barcode": "T1", "site_code": "S01", "box_code": "", "collected_at": "2022-03-28 09:00:00",
         "members": "1"}
    ]  # fmt: skip
    assert [r["id_number"] for r in read_csv(out_dir / "untested.csv")] == [B]
    summary = json.loads((out_dir / "summary.json").read_text(encoding="utf-8"))
    assert list(summary) == SUMMARY_KEYS
    assert {k: summary[k] for k in ("round", "expected", "sampled", "pending", "untested", "tubes")} == {
        "round": "R1",
        "expected": 2,
        "sampled": 1,
        "pending": 1,
        "untested": 1,
        "tubes": 1,
    }
    assert json_line(out) == summary
    coverage = {r["community_code"]: r for r in read_csv(out_dir / "coverage.csv")}
    assert all(code.startswith("350582") for code in coverage)
    assert coverage[JJ_COMMUNITY]["coverage"] == "0.5000"
    assert coverage[JJ_COMMUNITY]["town_code"] == JJ_COMMUNITY[:9]
    empty = [r for r in coverage.values() if r["expected"] == "0"]
    assert empty and all(r["coverage"] == "0.0000" for r in empty)  # communities with nobody are listed

    code, _, err = cli(capsys, "round", "report", "R404", "--out", ready / "r404")
    assert code != 0 and "R404" in err
