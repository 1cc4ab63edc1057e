"""The round report over small Arrow fixtures: rules, file shapes, sort orders and arithmetic."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import json
import random
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lianfang.analytics.screening import (
    COVERAGE_COLUMNS,
    PENDING_COLUMNS,
    RECHECK_COLUMNS,
    REPORT_FILES,
    SUMMARY_KEYS,
    UNTESTED_COLUMNS,
    RoundInput,
    aggregate_coverage,
    coverage_by_community,
    exempt_birth_cutoff,
    format_shanghai,
    round_report,
    write_report,
)

START = dt.date(2022, 3, 28)
UTC = dt.UTC

A1, A2, A3 = "350582001001", "350582001002", "350582002001"  # county 350582; A3 has nobody
B1 = "350502001001"  # another county

COMMUNITIES_SCHEMA = pa.schema(
    [("community_code", pa.string()), ("community_name", pa.string()), ("town_code", pa.string()),
     ("county_code", pa.string())]
)  # fmt: skip
PERSONS_SCHEMA = pa.schema(
    [("person_id", pa.int64()), ("community_code", pa.string()), ("registered", pa.bool_()),
     ("birth_date", pa.date32()), ("in_custody", pa.bool_())]
)  # fmt: skip
TUBES_SCHEMA = pa.schema(
    [
        ("tube_id", pa.int64()),
        ("tube_barcode", pa.string()),
        ("site_code", pa.string()),
        ("box_code", pa.string()),
    ]
)
SAMPLES_SCHEMA = pa.schema(
    [("tube_id", pa.int64()), ("person_id", pa.int64()), ("collected_at", pa.timestamp("us", tz="UTC"))]
)
RESULTS_SCHEMA = pa.schema([("tube_id", pa.int64()), ("result", pa.string())])
DETAILS_SCHEMA = pa.schema(
    [("person_id", pa.int64())]
    + [(c, pa.string()) for c in ["id_type", "id_number", "name", "phone", "address", "tags"]]
)


def t(hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2022, 3, 28, hour, minute, tzinfo=UTC)


COMMUNITY_ROWS = [
    (B1, "B1 社区", "350502001", "350502"),
    (A2, "A2 社区", "350582001", "350582"),
    (A1, "A1 社区", "350582001", "350582"),
    (A3, "A3 村", "350582002", "350582"),
]

# person_id: (community_code, registered, birth_date, in_custody)
PERSON_ROWS = {
    1: (A1, True, dt.date(2020, 3, 28), False),  # exactly 2 on START: not exempt; T1 negative
    2: (A1, True, dt.date(2020, 3, 29), False),  # one day short of 2: exempt, not sampled
    3: (A1, True, None, False),  # unknown birth: not exempt, untested
    4: (A1, True, dt.date(1980, 1, 1), True),  # in custody: exempt, not sampled
    5: (A1, True, dt.date(2021, 1, 1), False),  # exempt but sampled (T1 negative)
    6: (A1, True, dt.date(1970, 5, 5), False),  # T1 negative + T2 positive: abnormal
    7: (A1, True, dt.date(1970, 5, 5), False),  # T3 re-run: invalid then negative: negative
    8: (A1, True, dt.date(1970, 5, 5), False),  # T4 invalid + T1 negative: negative, not re-checked
    9: (A1, True, dt.date(1970, 5, 5), False),  # T4 invalid only: invalid, re-checked
    18: (A1, True, dt.date(1985, 1, 1), False),  # untested, id sorts before person 3's
    10: (A2, True, dt.date(1990, 1, 1), False),  # T5 pending
    11: (A2, True, dt.date(1990, 1, 1), False),  # T5 pending, the earliest sample
    12: (A2, True, dt.date(1990, 1, 1), False),  # untested
    17: (A2, True, dt.date(1990, 1, 1), False),  # T6 inconclusive + negative: abnormal
    13: (B1, True, dt.date(1990, 1, 1), False),  # registered elsewhere, sampled in T2
    14: (B1, True, dt.date(1990, 1, 1), False),  # registered elsewhere, not sampled
    15: (None, False, None, False),  # unregistered, sampled in T2
    16: (None, False, None, False),  # unregistered, not sampled
    19: (A2, False, dt.date(1990, 1, 1), False),  # unregistered with a community code: never expected
}

# tube_id: (barcode, site, box); barcodes deliberately not in tube_id order
TUBE_ROWS = {
    1: ("QZ0005", "S01", "BX1"),
    2: ("QZ0001", "S01", "BX1"),
    3: ("QZ0004", "S02", None),
    4: ("QZ0003", "S02", ""),
    5: ("QZ0007", "S03", None),
    6: ("QZ0002", "S03", "BX2"),
    7: ("QZ0006", "S03", "BX2"),  # registered, never used: not a tube of the report
}

SAMPLE_ROWS = [
    (1, 1, t(1)),
    (1, 5, t(1, 1)),
    (1, 6, t(1, 2)),
    (1, 8, t(1, 3)),
    (2, 6, t(2)),
    (2, 13, t(2, 5)),
    (2, 15, dt.datetime(2022, 3, 27, 16, 0, 0, 999999, tzinfo=UTC)),  # midnight in Shanghai
    (3, 7, t(3)),
    (4, 8, t(4)),
    (4, 9, t(4, 10)),
    (5, 10, t(1)),
    (5, 11, t(0, 30)),  # 08:30 in Shanghai: the tube's earliest
    (6, 17, t(6)),
]

RESULT_ROWS = [
    (1, "negative"),
    (2, "inconclusive"),
    (2, "positive"),
    (3, "invalid"),
    (3, "negative"),
    (4, "invalid"),
    (6, "negative"),
    (6, "inconclusive"),
    (99, "positive"),  # a tube of another round: ignored
]

# person_id: (id_type, id_number, name, phone, address, tags)
SPECIAL_DETAILS = {
    3: ("resident_id", "ID0003", "王芳", None, "泉州, 晋江", None),
    13: ("resident_id", "A100", "李强", "13800000013", "", "外地"),
    15: ("passport", "A100", "John Smith", "", "", ""),
    18: ("resident_id", "ID0000", "陈静", "13800000018", "", ""),
}


class Details:
    """A details callback that records its calls."""

    def __init__(self, special: dict | None = None) -> None:
        self.calls: list[list[int]] = []
        self.special = SPECIAL_DETAILS if special is None else special

    def __call__(self, ids: pa.Array) -> pa.Table:
        assert pa.types.is_int64(ids.type)
        self.calls.append(ids.to_pylist())
        rows = []
        for pid in ids.to_pylist():
            d = self.special.get(
                pid, ("resident_id", f"ID{pid:04d}", f"人{pid}", f"1380000{pid:04d}", "", "")
            )
            rows.append({"person_id": pid, **dict(zip(DETAILS_SCHEMA.names[1:], d, strict=True))})
        rows.reverse()  # the callback's order does not matter
        return pa.Table.from_pylist(rows, schema=DETAILS_SCHEMA)


def tables(
    persons: dict | None = None,
    samples: list | None = None,
    results: list | None = None,
    tubes: dict | None = None,
    communities: list | None = None,
) -> dict[str, pa.Table]:
    persons = PERSON_ROWS if persons is None else persons
    tubes = TUBE_ROWS if tubes is None else tubes
    return {
        "communities": pa.Table.from_pylist(
            [dict(zip(COMMUNITIES_SCHEMA.names, r, strict=True)) for r in (communities or COMMUNITY_ROWS)],
            schema=COMMUNITIES_SCHEMA,
        ),
        "persons": pa.Table.from_pylist(
            [dict(zip(PERSONS_SCHEMA.names, (k, *v), strict=True)) for k, v in persons.items()],
            schema=PERSONS_SCHEMA,
        ),
        "tubes": pa.Table.from_pylist(
            [dict(zip(TUBES_SCHEMA.names, (k, *v), strict=True)) for k, v in tubes.items()],
            schema=TUBES_SCHEMA,
        ),
        "samples": pa.Table.from_pylist(
            [
                dict(zip(SAMPLES_SCHEMA.names, r, strict=True))
                for r in (SAMPLE_ROWS if samples is None else samples)
            ],
            schema=SAMPLES_SCHEMA,
        ),
        "results": pa.Table.from_pylist(
            [
                dict(zip(RESULTS_SCHEMA.names, r, strict=True))
                for r in (RESULT_ROWS if results is None else results)
            ],
            schema=RESULTS_SCHEMA,
        ),
    }


def make_input(scope: list[str], details=None, start: dt.date = START, **kw) -> RoundInput:
    return RoundInput(
        round_code="R20220328",
        start_date=start,
        exempt_under_years=2,
        scope=scope,
        results_held=3,
        details=details or Details(),
        **tables(**kw),
    )


def read_csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    raw = path.read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf"), "no BOM"
    assert b"\r" not in raw
    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        return list(reader.fieldnames or []), list(reader)


def written(report, tmp_path: Path) -> dict:
    write_report(report, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(REPORT_FILES)
    out = {name: read_csv(tmp_path / name) for name in REPORT_FILES if name.endswith(".csv")}
    out["summary.json"] = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    return out


def assert_identities(files: dict) -> None:
    """What check_report.py checks: headers, sort orders, and the report's arithmetic."""
    headers = {
        "coverage.csv": COVERAGE_COLUMNS,
        "untested.csv": UNTESTED_COLUMNS,
        "recheck.csv": RECHECK_COLUMNS,
        "pending_tubes.csv": PENDING_COLUMNS,
    }
    sort_keys = {
        "coverage.csv": ["community_code"],
        "untested.csv": ["community_code", "id_number"],
        "recheck.csv": ["tube_barcode", "id_number", "id_type"],
        "pending_tubes.csv": ["tube_barcode"],
    }
    for name, header in headers.items():
        got_header, rows = files[name]
        assert got_header == header, name
        keys = [tuple(r[k] for k in sort_keys[name]) for r in rows]
        assert keys == sorted(keys), name
    _, cov = files["coverage.csv"]
    counts = ["expected", "exempt", "sampled", "negative", "pending", "invalid", "abnormal", "untested"]
    totals = dict.fromkeys(counts, 0)
    for r in cov:
        n = {k: int(r[k]) for k in counts}
        for k in counts:
            totals[k] += n[k]
        assert n["negative"] + n["pending"] + n["invalid"] + n["abnormal"] == n["sampled"]
        assert n["untested"] <= n["expected"] - n["exempt"]
        assert n["sampled"] <= n["expected"]
        want = round(n["sampled"] / n["expected"], 4) if n["expected"] else 0.0
        assert abs(float(r["coverage"]) - want) < 0.00011
        assert len(r["coverage"].split(".")[1]) == 4
        assert r["community_code"].startswith(r["town_code"]) and r["town_code"].startswith(r["county_code"])
    assert len(files["untested.csv"][1]) == totals["untested"]
    summary = files["summary.json"]
    assert list(summary) == SUMMARY_KEYS
    for k in counts:
        assert summary[k] == totals[k], k
    assert summary["tubes"] >= len(files["pending_tubes.csv"][1])
    assert {r["reason"] for r in files["recheck.csv"][1]} <= {"positive", "inconclusive", "invalid"}


# --- the main fixture ------------------------------------------------------------------------


@pytest.fixture
def county_files(tmp_path):
    details = Details()
    report = round_report(make_input(["350582"], details))
    files = written(report, tmp_path)
    files["details"] = details
    files["report"] = report
    return files


def test_coverage_by_county_scope(county_files):
    header, rows = county_files["coverage.csv"]
    assert header == COVERAGE_COLUMNS
    assert [r["community_code"] for r in rows] == [A1, A2, A3]  # sorted; B1 out of scope
    a1, a2, a3 = rows
    assert a1 == {
        "county_code": "350582",
        "town_code": "350582001",
        "community_code": A1,
        "community_name": "A1 社区",
        "expected": "10",  # persons 1-9 and 18
        "exempt": "3",  # 2 (under 2), 4 (custody), 5 (under 2, sampled)
        "sampled": "6",  # 1, 5, 6, 7, 8, 9
        "negative": "4",  # 1, 5, 7 (re-run tube), 8 (invalid + negative tube)
        "pending": "0",
        "invalid": "1",  # 9
        "abnormal": "1",  # 6 (negative + positive tube)
        "untested": "2",  # 3 (unknown birth date), 18
        "coverage": "0.6000",
    }
    assert {k: a2[k] for k in COVERAGE_COLUMNS[4:]} == {
        "expected": "4",  # 10, 11, 12, 17; not 19 (unregistered)
        "exempt": "0",
        "sampled": "3",
        "negative": "0",
        "pending": "2",
        "invalid": "0",
        "abnormal": "1",
        "untested": "1",
        "coverage": "0.7500",
    }
    assert a3["community_name"] == "A3 村"
    assert {k: a3[k] for k in COVERAGE_COLUMNS[4:]} == {
        **{k: "0" for k in COVERAGE_COLUMNS[4:12]},
        "coverage": "0.0000",
    }


def test_summary(county_files):
    assert county_files["summary.json"] == {
        "round": "R20220328",
        "expected": 14,
        "exempt": 3,
        "sampled": 9,
        "sampled_unregistered": 1,  # 15
        "sampled_out_of_scope": 1,  # 13
        "negative": 4,
        "pending": 2,
        "invalid": 1,
        "abnormal": 2,
        "untested": 3,
        "tubes": 6,  # tube 7 has no sample
        "tubes_abnormal": 2,  # T2 positive, T6 inconclusive
        "results_held": 3,
    }
    assert county_files["report"].summary == county_files["summary.json"]


def test_untested(county_files):
    header, rows = county_files["untested.csv"]
    assert header == UNTESTED_COLUMNS
    assert rows == [
        {"community_code": A1, "id_type": "resident_id", "id_number": "ID0000", "name": "陈静",
         "phone": "13800000018", "address": "", "tags": ""},
        {"community_code": A1, "id_type": "resident_id", "id_number": "ID0003", "name": "王芳",
         "phone": "", "address": "泉州, 晋江", "tags": ""},
        {"community_code": A2, "id_type": "resident_id", "id_number": "ID0012", "name": "人12",
         "phone": "13800000012", "address": "", "tags": ""},
    ]  # fmt: skip


def test_recheck(county_files):
    header, rows = county_files["recheck.csv"]
    assert header == RECHECK_COLUMNS
    got = [(r["tube_barcode"], r["reason"], r["id_type"], r["id_number"], r["community_code"], r["site_code"],
            r["collected_at"]) for r in rows]  # fmt: skip
    assert got == [
        # T2: positive and inconclusive -> positive; every member, in (id_number, id_type) order
        ("QZ0001", "positive", "passport", "A100", "", "S01", "2022-03-28 00:00:00"),  # unregistered
        ("QZ0001", "positive", "resident_id", "A100", B1, "S01", "2022-03-28 10:05:00"),  # out of scope
        ("QZ0001", "positive", "resident_id", "ID0006", A1, "S01", "2022-03-28 10:00:00"),
        # T6: negative and inconclusive -> inconclusive
        ("QZ0002", "inconclusive", "resident_id", "ID0017", A2, "S03", "2022-03-28 14:00:00"),
        # T4: invalid; person 8 also has a negative tube and is left out
        ("QZ0003", "invalid", "resident_id", "ID0009", A1, "S02", "2022-03-28 12:10:00"),
    ]
    assert rows[0]["name"] == "John Smith" and rows[1]["phone"] == "13800000013"
    # T3 (invalid, then negative on a re-run) and T1 (negative) are not re-checked


def test_pending_tubes(county_files):
    header, rows = county_files["pending_tubes.csv"]
    assert header == PENDING_COLUMNS
    assert rows == [
        {"tube_barcode": "QZ0007", "site_code": "S03", "box_code": "", "collected_at": "2022-03-28 08:30:00",
         "members": "2"},
    ]  # fmt: skip


def test_details_called_once_with_the_listed_people(county_files):
    assert county_files["details"].calls == [[3, 6, 9, 12, 13, 15, 17, 18]]


def test_identities_and_exact_bytes(county_files, tmp_path):
    assert_identities(county_files)
    raw = (tmp_path / "coverage.csv").read_text(encoding="utf-8")
    assert raw.startswith(",".join(COVERAGE_COLUMNS) + "\n")
    assert raw.splitlines()[3] == "350582,350582002,350582002001,A3 村,0,0,0,0,0,0,0,0,0.0000"
    assert '"泉州, 晋江"' in (tmp_path / "untested.csv").read_text(encoding="utf-8")
    summary_text = (tmp_path / "summary.json").read_text(encoding="utf-8")
    assert summary_text == json.dumps(county_files["summary.json"], ensure_ascii=False, indent=2) + "\n"


def test_report_tables_are_typed(county_files):
    report = county_files["report"]
    assert report.coverage.column_names == COVERAGE_COLUMNS
    assert report.untested.column_names == UNTESTED_COLUMNS
    assert report.recheck.column_names == RECHECK_COLUMNS
    assert report.pending_tubes.column_names == PENDING_COLUMNS
    assert report.coverage.schema.field("expected").type == pa.int64()
    assert report.coverage.column("coverage").to_pylist() == [0.6, 0.75, 0.0]
    assert report.pending_tubes.schema.field("collected_at").type == pa.timestamp("us", tz="UTC")
    assert report.pending_tubes.column("collected_at").to_pylist() == [t(0, 30)]
    assert report.pending_tubes.column("box_code").to_pylist() == [None]


# --- scope -----------------------------------------------------------------------------------


def test_scope_single_community(tmp_path):
    details = Details()
    files = written(round_report(make_input([A2], details)), tmp_path)
    assert_identities(files)
    assert [r["community_code"] for r in files["coverage.csv"][1]] == [A2]
    assert [r["id_number"] for r in files["untested.csv"][1]] == ["ID0012"]
    s = files["summary.json"]
    assert (s["expected"], s["sampled"], s["untested"]) == (4, 3, 1)
    assert s["sampled_out_of_scope"] == 7  # 1, 5, 6, 7, 8, 9, 13
    assert s["sampled_unregistered"] == 1
    # the re-check list does not depend on the scope
    assert len(files["recheck.csv"][1]) == 5
    assert details.calls == [[6, 9, 12, 13, 15, 17]]


def test_scope_city_and_codes_of_mixed_length(tmp_path):
    files = written(round_report(make_input(["3505"])), tmp_path)
    assert_identities(files)
    assert [r["community_code"] for r in files["coverage.csv"][1]] == [B1, A1, A2, A3]
    assert files["summary.json"]["sampled_out_of_scope"] == 0
    both = round_report(make_input(["350502", A1, "350582001"]))  # overlapping scope codes count once
    assert both.coverage.column("community_code").to_pylist() == [B1, A1, A2]
    assert both.summary["expected"] == 2 + 10 + 4


def test_aggregate_coverage():
    cov = coverage_by_community(make_input(["3505"]))
    assert cov.equals(round_report(make_input(["3505"])).coverage)
    county = aggregate_coverage(cov, "county")
    assert county.column_names == ["county_code", *COVERAGE_COLUMNS[4:]]
    assert county.to_pylist() == [
        {"county_code": "350502", "expected": 2, "exempt": 0, "sampled": 1, "negative": 0, "pending": 0,
         "invalid": 0, "abnormal": 1, "untested": 1, "coverage": 0.5},
        {"county_code": "350582", "expected": 14, "exempt": 3, "sampled": 9, "negative": 4, "pending": 2,
         "invalid": 1, "abnormal": 2, "untested": 3, "coverage": 0.6429},
    ]  # fmt: skip
    town = aggregate_coverage(cov, "town")
    assert town.column("town_code").to_pylist() == ["350502001", "350582001", "350582002"]
    assert town.column("expected").to_pylist() == [2, 14, 0]
    assert town.column("coverage").to_pylist() == [0.5, 0.6429, 0.0]
    with pytest.raises(ValueError):
        aggregate_coverage(cov, "community")


def test_coverage_rounds_half_up_to_4_decimals():
    cov = pa.Table.from_pylist(
        [
            {"county_code": c, "town_code": c + "001", "expected": e, "sampled": s,
             **{k: 0 for k in COVERAGE_COLUMNS[5:12] if k != "sampled"}}
            for c, e, s in [("1", 32, 1), ("2", 3, 2), ("3", 20000, 1), ("4", 7, 7), ("5", 0, 0)]
        ]
    )  # fmt: skip
    assert aggregate_coverage(cov, "county").column("coverage").to_pylist() == [
        0.0313,
        0.6667,
        0.0001,
        1.0,
        0.0,
    ]


# --- exemption -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("birth", "start", "exempt"),
    [
        (dt.date(2020, 3, 28), dt.date(2022, 3, 28), False),  # 2 today
        (dt.date(2020, 3, 29), dt.date(2022, 3, 28), True),  # 2 tomorrow
        (dt.date(2020, 2, 29), dt.date(2022, 2, 28), True),  # leap-day birthday is 1 March this year
        (dt.date(2020, 2, 29), dt.date(2022, 3, 1), False),
        (dt.date(2022, 2, 28), dt.date(2024, 2, 29), False),
        (dt.date(2022, 3, 1), dt.date(2024, 2, 29), True),
        (dt.date(2022, 2, 28), dt.date(2024, 2, 28), False),
        (dt.date(2026, 1, 1), dt.date(2022, 3, 28), True),  # born after the start (a data error): under 2
        (None, dt.date(2022, 3, 28), False),  # unknown: not exempt
    ],
)
def test_exemption_boundary(birth, start, exempt):
    inp = make_input([A1], start=start, persons={1: (A1, True, birth, False)}, samples=[], results=[])
    row = coverage_by_community(inp).to_pylist()[0]
    assert (row["expected"], row["exempt"], row["untested"]) == (1, int(exempt), int(not exempt))


def test_exempt_birth_cutoff():
    assert exempt_birth_cutoff(dt.date(2022, 3, 28), 2) == dt.date(2020, 3, 28)
    assert exempt_birth_cutoff(dt.date(2024, 2, 29), 2) == dt.date(2022, 2, 28)
    assert exempt_birth_cutoff(dt.date(2024, 2, 29), 4) == dt.date(2020, 2, 29)


def test_custody_is_exempt_and_sampled_exempt_is_not_untested():
    persons = {1: (A1, True, dt.date(1980, 1, 1), True), 2: (A1, True, dt.date(1980, 1, 1), True)}
    inp = make_input([A1], persons=persons, samples=[(1, 1, t(1))], results=[])
    row = coverage_by_community(inp).to_pylist()[0]
    assert {k: row[k] for k in ["expected", "exempt", "sampled", "pending", "untested"]} == {
        "expected": 2, "exempt": 2, "sampled": 1, "pending": 1, "untested": 0,
    }  # fmt: skip


# --- times, inputs, empties ------------------------------------------------------------------


def test_format_shanghai():
    times = pa.array(
        [
            dt.datetime(2022, 3, 28, 0, 30, tzinfo=UTC),
            dt.datetime(2022, 3, 31, 16, 0, 0, 500000, tzinfo=UTC),
            None,
        ],
        pa.timestamp("us", tz="UTC"),
    )
    assert format_shanghai(times).to_pylist() == ["2022-03-28 08:30:00", "2022-04-01 00:00:00", None]
    as_shanghai = times.cast(pa.timestamp("ms", tz="Asia/Shanghai"))  # same instants, another zone
    assert format_shanghai(as_shanghai).to_pylist() == format_shanghai(times).to_pylist()


def test_parquet_inputs(tmp_path):
    direct = round_report(make_input(["350582"]))
    paths = {}
    for name, table in tables().items():
        paths[name] = tmp_path / f"{name}.parquet"
        pq.write_table(table, paths[name])
    loaded = {name: pq.read_table(path) for name, path in paths.items()}
    via_parquet = round_report(
        RoundInput(round_code="R20220328", start_date=START, exempt_under_years=2, scope=["350582"], results_held=3, details=Details(),
                   **loaded)
    )  # fmt: skip
    for part in ["coverage", "untested", "recheck", "pending_tubes"]:
        assert getattr(via_parquet, part).equals(getattr(direct, part)), part
    assert via_parquet.summary == direct.summary


def test_extra_columns_and_other_types_are_accepted():
    base = tables()
    persons = base["persons"].append_column("name", pa.array(["x"] * base["persons"].num_rows))
    communities = base["communities"].cast(
        pa.schema([(f.name, pa.large_string()) for f in COMMUNITIES_SCHEMA])
    )
    samples = base["samples"].cast(
        pa.schema(
            [("tube_id", pa.int32()), ("person_id", pa.int64()), ("collected_at", pa.timestamp("ns", "UTC"))]
        )
    )
    inp = dataclasses.replace(
        make_input(["350582"]), persons=persons, communities=communities, samples=samples
    )
    assert round_report(inp).summary == round_report(make_input(["350582"])).summary


def test_empty_inputs(tmp_path):
    details = Details()
    empty = RoundInput(
        round_code="R0",
        start_date=START,
        exempt_under_years=2,
        scope=["350582"],
        communities=COMMUNITIES_SCHEMA.empty_table(),
        persons=PERSONS_SCHEMA.empty_table(),
        tubes=TUBES_SCHEMA.empty_table(),
        samples=SAMPLES_SCHEMA.empty_table(),
        results=RESULTS_SCHEMA.empty_table(),
        results_held=0,
        details=details,
    )
    files = written(round_report(empty), tmp_path)
    for name, header in [
        ("coverage.csv", COVERAGE_COLUMNS),
        ("untested.csv", UNTESTED_COLUMNS),
        ("recheck.csv", RECHECK_COLUMNS),
        ("pending_tubes.csv", PENDING_COLUMNS),
    ]:
        assert (tmp_path / name).read_text(encoding="utf-8") == ",".join(header) + "\n"
    assert files["summary.json"] == {"round": "R0", **{k: 0 for k in SUMMARY_KEYS[1:]}}
    assert details.calls == []


def test_no_scope_and_no_samples(tmp_path):
    files = written(round_report(make_input([], samples=[], results=[])), tmp_path)
    assert files["coverage.csv"][1] == []
    assert files["summary.json"]["tubes"] == 0


def test_module_does_not_import_django():
    code = "import sys, lianfang.analytics.screening; sys.exit(1 if 'django' in sys.modules else 0)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


# --- against a plain-Python reading of the rules ---------------------------------------------


def reference(inp: RoundInput) -> dict:
    """The rules, row by row in Python, for small random rounds."""
    comms = [
        r for r in inp.communities.to_pylist() if any(r["community_code"].startswith(s) for s in inp.scope)
    ]
    in_scope = {r["community_code"] for r in comms}
    persons = {r["person_id"]: r for r in inp.persons.to_pylist()}
    tube_ids = {r["tube_id"] for r in inp.tubes.to_pylist()}
    results: dict[int, set] = {}
    for r in inp.results.to_pylist():
        results.setdefault(r["tube_id"], set()).add(r["result"])

    def effective(tube):
        rs = results.get(tube, set())
        if rs & {"positive", "inconclusive"}:
            return "abnormal"
        return next((s for s in ("negative", "invalid") if s in rs), "pending")

    tubes_of: dict[int, set] = {}
    for s in inp.samples.to_pylist():
        if s["tube_id"] in tube_ids:
            tubes_of.setdefault(s["person_id"], set()).add(s["tube_id"])

    def status(pid):
        effs = {effective(x) for x in tubes_of.get(pid, ())}
        if not effs:
            return "untested"
        return next(s for s in ("abnormal", "negative", "invalid", "pending") if s in effs)

    def age(birth):
        s = inp.start_date
        return s.year - birth.year - ((s.month, s.day) < (birth.month, birth.day))

    rows, untested = [], set()
    for c in sorted(comms, key=lambda r: r["community_code"]):
        n = dict.fromkeys(
            ["expected", "exempt", "sampled", "negative", "pending", "invalid", "abnormal", "untested"], 0
        )
        for p in persons.values():
            if not (p["registered"] and p["community_code"] == c["community_code"]):
                continue
            exempt = p["in_custody"] or (p["birth_date"] is not None and age(p["birth_date"]) < 2)
            st = status(p["person_id"])
            n["expected"] += 1
            n["exempt"] += exempt
            if st != "untested":
                n["sampled"] += 1
                n[st] += 1
            elif not exempt:
                n["untested"] += 1
                untested.add(p["person_id"])
        rows.append({"community_code": c["community_code"], **n})
    sampled = set(tubes_of)
    expected_ids = {p for p, r in persons.items() if r["registered"] and r["community_code"] in in_scope}
    recheck = set()
    for s in inp.samples.to_pylist():
        eff = effective(s["tube_id"])
        if s["tube_id"] in tube_ids and (
            eff == "abnormal"
            or (eff == "invalid" and "negative" not in {effective(x) for x in tubes_of[s["person_id"]]})
        ):
            recheck.add((s["tube_id"], s["person_id"]))
    members: dict[int, int] = {}
    for xs in tubes_of.values():
        for x in xs:
            members[x] = members.get(x, 0) + 1
    return {
        "coverage": rows,
        "untested": untested,
        "pending": {x: n for x, n in members.items() if x not in results},
        "tubes": len(members),
        "sampled_unregistered": sum(1 for p in sampled if not persons[p]["registered"]),
        "sampled_out_of_scope": sum(1 for p in sampled if persons[p]["registered"] and p not in expected_ids),
        "recheck": recheck,
        "tubes_abnormal": sum(
            1 for x in tube_ids if effective(x) == "abnormal" and any(x in v for v in tubes_of.values())
        ),
    }


@pytest.mark.parametrize("seed", range(8))
def test_matches_reference_on_random_rounds(seed):
    rng = random.Random(seed)
    comms = [A1, A2, A3, B1]
    persons = {
        pid: (
            rng.choice([*comms, None]),
            rng.random() < 0.85,
            rng.choice([None, dt.date(2020, 3, 28), dt.date(2020, 3, 29), dt.date(1990, 6, 1)]),
            rng.random() < 0.1,
        )
        for pid in range(1, 80)
    }
    tubes = {tid: (f"QZ{rng.randrange(10**6):06d}-{tid}", f"S{tid % 3}", None) for tid in range(1, 25)}
    samples = {}
    for _ in range(120):
        tid, pid = rng.randrange(1, 27), rng.randrange(1, 80)  # tubes 25 and 26 are not the round's
        samples[(tid, pid)] = (tid, pid, t(rng.randrange(24), rng.randrange(60)))
    results = [
        (rng.randrange(1, 27), rng.choice(["negative", "positive", "inconclusive", "invalid"]))
        for _ in range(30)
    ]
    inp = make_input(
        [rng.choice(["350582", A1, "3505", "350582001"])],
        details=Details(special={}),
        persons=persons,
        tubes=tubes,
        samples=list(samples.values()),
        results=results,
    )
    report = round_report(inp)
    want = reference(inp)
    got_cov = (
        [{k: r[k] for k in want["coverage"][0]} for r in report.coverage.to_pylist()]
        if want["coverage"]
        else []
    )
    assert got_cov == want["coverage"]
    assert report.summary["sampled_unregistered"] == want["sampled_unregistered"]
    assert report.summary["sampled_out_of_scope"] == want["sampled_out_of_scope"]
    assert report.summary["tubes_abnormal"] == want["tubes_abnormal"]
    assert report.summary["tubes"] == want["tubes"]
    barcode = {k: v[0] for k, v in tubes.items()}
    assert sorted(r["id_number"] for r in report.untested.to_pylist()) == sorted(
        f"ID{p:04d}" for p in want["untested"]
    )
    got_pending = {r["tube_barcode"]: r["members"] for r in report.pending_tubes.to_pylist()}
    assert got_pending == {barcode[x]: n for x, n in want["pending"].items()}
    got_recheck = sorted((r["tube_barcode"], r["id_number"]) for r in report.recheck.to_pylist())
    assert got_recheck == sorted((barcode[x], f"ID{p:04d}") for x, p in want["recheck"])
