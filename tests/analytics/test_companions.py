"""时空伴随 (FORMATS.md "lianfang trace companions"), rule by rule, on DuckDB and on Spark.

Every rule's test runs on both engines (``engine`` fixture) and compares the whole written
``companions.csv`` with the text the contract gives, so the two engines' files are identical byte
for byte; ``test_engines_write_identical_files`` also compares them directly on a random city.
The Spark runs share one local session per test session (marked slow and spark: CI runs them in a
pytest process of their own, scripts/suite.sh).
"""

from __future__ import annotations

import datetime as dt
import random

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lianfang.analytics.companions import (
    COLUMNS,
    Params,
    UnknownCases,
    companions,
    companions_write,
)
from lianfang.core.reader import ImportFileError
from lianfang.protocol import edition

P9 = Params.of(edition("p9").tracing)  # 14 days, 10 minutes, no cumulative rule
HEADER = ",".join(COLUMNS)
CASE_PHONE = "13800000001"
CASE_ID = "35050219900101123X"
REPORTED = "2022-03-21 00:00"  # window [2022-03-07 00:00, 2022-03-21 00:00] Asia/Shanghai
CASES = [{"case_code": "K1", "id_number": CASE_ID, "phone": CASE_PHONE, "reported_at": REPORTED}]


@pytest.fixture(params=["duckdb", pytest.param("spark", marks=[pytest.mark.slow, pytest.mark.spark])])
def engine(request):
    if request.param == "spark":
        request.getfixturevalue("spark")
    return request.param


@pytest.fixture(scope="session")
def spark():
    pytest.importorskip("pyspark")
    from lianfang.analytics import companions as module

    # Kilobytes of data: one shuffle partition, no whole-stage code generation (compiling it costs
    # more than running the plan); the results do not depend on either.
    session = module.spark_session(
        {"spark.sql.shuffle.partitions": "1", "spark.sql.codegen.wholeStage": "false"}
    )
    yield session
    session.stop()
    module._spark_session = None


def pings_csv(tmp_path, rows, header="person_key,cell_id,start,end"):
    path = tmp_path / "pings.csv"
    path.write_text(header + "\n" + "".join(",".join(r) + "\n" for r in rows), encoding="utf-8")
    return path


def run(tmp_path, engine, rows, cases=CASES, params=P9, **options):
    out = tmp_path / f"companions-{engine}.csv"
    companions_write(pings_csv(tmp_path, rows), cases, params, out, engine=engine, **options)
    return out.read_text(encoding="utf-8")


def expect(*rows):
    return "".join(line + "\n" for line in (HEADER, *rows))


def test_exactly_ten_minutes_counts_and_nine_fifty_nine_does_not(tmp_path, engine):
    rows = [
        (CASE_PHONE, "c1", "2022-03-20 08:00", "2022-03-20 09:00"),
        ("A", "c1", "2022-03-20 08:50", "2022-03-20 09:10"),  # 10:00 inside the case's stay
        ("B", "c1", "2022-03-20 08:50:01", "2022-03-20 09:10"),  # 9:59
        ("C", "c1", "2022-03-20 07:00", "2022-03-20 08:09:59"),  # 9:59 at the other end
        ("D", "c2", "2022-03-20 08:00", "2022-03-20 09:00"),  # another cell
    ]
    assert run(tmp_path, engine, rows) == expect("A,K1,c1,2022-03-20 08:50:00,2022-03-20 09:00:00,10.0")


def test_touching_stays_are_no_overlap_even_without_a_co_dwell(tmp_path, engine):
    rows = [
        (CASE_PHONE, "c1", "2022-03-20 08:00", "2022-03-20 09:00"),
        ("A", "c1", "2022-03-20 09:00", "2022-03-20 10:00"),  # starts when the case leaves
        ("B", "c1", "2022-03-20 07:00", "2022-03-20 08:00"),  # leaves when the case comes
        ("E", "c1", "2022-03-20 08:59:30", "2022-03-20 10:00"),  # 30 seconds
    ]
    zero = Params(lookback_days=14, codwell_minutes=0)
    assert run(tmp_path, engine, rows, params=zero) == expect(
        "E,K1,c1,2022-03-20 08:59:30,2022-03-20 09:00:00,0.5"
    )
    assert run(tmp_path, engine, rows) == expect()


def test_overlap_is_clipped_to_the_window_at_both_ends(tmp_path, engine):
    rows = [
        # Start of the window (2022-03-07 00:00): 15 minutes inside, 10 before it.
        (CASE_PHONE, "c1", "2022-03-06 23:50", "2022-03-07 00:15"),
        ("A", "c1", "2022-03-06 23:40", "2022-03-07 01:00"),
        # 15 minutes of overlap of which only 5 in the window: not counted.
        (CASE_PHONE, "c2", "2022-03-06 23:50", "2022-03-07 00:05"),
        ("B", "c2", "2022-03-06 23:50", "2022-03-07 00:05"),
        # End of the window (reported_at 2022-03-21 00:00).
        (CASE_PHONE, "c3", "2022-03-20 23:45", "2022-03-21 00:30"),
        ("C", "c3", "2022-03-20 23:40", "2022-03-21 00:30"),
        (CASE_PHONE, "c4", "2022-03-20 23:55", "2022-03-21 00:20"),
        ("D", "c4", "2022-03-20 23:55", "2022-03-21 00:20"),  # 25 min, 5 of them in the window
        # Wholly outside the window.
        (CASE_PHONE, "c5", "2022-03-21 08:00", "2022-03-21 10:00"),
        ("E", "c5", "2022-03-21 08:00", "2022-03-21 10:00"),
        (CASE_PHONE, "c6", "2022-03-01 08:00", "2022-03-01 10:00"),
        ("F", "c6", "2022-03-01 08:00", "2022-03-01 10:00"),
    ]
    assert run(tmp_path, engine, rows) == expect(
        "A,K1,c1,2022-03-07 00:00:00,2022-03-07 00:15:00,15.0",
        "C,K1,c3,2022-03-20 23:45:00,2022-03-21 00:00:00,15.0",
    )


def test_a_case_is_found_by_its_phone_and_by_its_id_number(tmp_path, engine):
    rows = [
        (CASE_PHONE, "c1", "2022-03-20 08:00", "2022-03-20 09:00"),
        (CASE_ID.lower(), "c2", "2022-03-19 08:00", "2022-03-19 09:00"),  # check character x
        ("A", "c1", "2022-03-20 08:00", "2022-03-20 08:20"),
        ("B", "c2", "2022-03-19 08:30", "2022-03-19 10:00"),
    ]
    assert run(tmp_path, engine, rows) == expect(
        "A,K1,c1,2022-03-20 08:00:00,2022-03-20 08:20:00,20.0",
        "B,K1,c2,2022-03-19 08:30:00,2022-03-19 09:00:00,30.0",
    )
    only_id = [{**CASES[0], "phone": ""}]
    assert run(tmp_path, engine, rows, cases=only_id) == expect(
        "B,K1,c2,2022-03-19 08:30:00,2022-03-19 09:00:00,30.0"
    )
    only_phone = [{**CASES[0], "id_number": ""}]
    assert run(tmp_path, engine, rows, cases=only_phone) == expect(
        "A,K1,c1,2022-03-20 08:00:00,2022-03-20 08:20:00,20.0",
        # The stays keyed by the ID number are now a stranger's, in another cell than the phone's.
    )


def test_the_case_own_stays_and_other_cases_are_not_companions(tmp_path, engine):
    cases = [*CASES, {"case_code": "K2", "id_number": "", "phone": "13900000002", "reported_at": REPORTED}]
    rows = [
        (CASE_PHONE, "c1", "2022-03-20 08:00", "2022-03-20 09:00"),
        (CASE_ID, "c1", "2022-03-20 08:00", "2022-03-20 09:00"),  # the same person by ID number
        ("13900000002", "c1", "2022-03-20 08:10", "2022-03-20 08:40"),  # another case
        ("A", "c1", "2022-03-20 08:30", "2022-03-20 08:45"),
    ]
    # A's stay pairs with each of K1's two stays (by phone and by ID) and with K2's.
    assert run(tmp_path, engine, rows, cases=cases) == expect(
        "A,K1,c1,2022-03-20 08:30:00,2022-03-20 08:45:00,15.0",
        "A,K1,c1,2022-03-20 08:30:00,2022-03-20 08:45:00,15.0",
        "A,K2,c1,2022-03-20 08:30:00,2022-03-20 08:40:00,10.0",
    )
    # K2 is still not a companion of K1 when only K1 is asked for.
    assert run(tmp_path, engine, rows, cases=cases, case_codes=["K1"]) == expect(
        "A,K1,c1,2022-03-20 08:30:00,2022-03-20 08:45:00,15.0",
        "A,K1,c1,2022-03-20 08:30:00,2022-03-20 08:45:00,15.0",
    )


def test_rows_sorted_and_minutes_rounded_half_up_to_one_decimal(tmp_path, engine):
    cases = [*CASES, {"case_code": "K0", "id_number": "", "phone": "13900000002", "reported_at": REPORTED}]
    rows = [
        (CASE_PHONE, "c9", "2022-03-20 08:00", "2022-03-20 09:00"),
        (CASE_PHONE, "c1", "2022-03-20 08:00", "2022-03-20 09:00"),
        ("13900000002", "c1", "2022-03-18 08:00", "2022-03-18 09:00"),
        ("b", "c9", "2022-03-20 08:00", "2022-03-20 08:10:03"),  # 10.05 → 10.1
        ("b", "c1", "2022-03-20 08:00", "2022-03-20 08:10:02.999"),  # 10.04998 → 10.0
        ("B", "c1", "2022-03-18 08:00", "2022-03-18 08:12:57"),  # 12.95 → 13.0 (K0)
        ("B", "c1", "2022-03-20 08:30", "2022-03-20 09:30"),
    ]
    assert run(tmp_path, engine, rows, cases=cases) == expect(
        "B,K0,c1,2022-03-18 08:00:00,2022-03-18 08:12:57,13.0",
        "B,K1,c1,2022-03-20 08:30:00,2022-03-20 09:00:00,30.0",
        "b,K1,c1,2022-03-20 08:00:00,2022-03-20 08:10:02,10.0",
        "b,K1,c9,2022-03-20 08:00:00,2022-03-20 08:10:03,10.1",
    )


def test_times_with_offsets_and_utc_report_in_shanghai(tmp_path, engine):
    rows = [
        (CASE_PHONE, "c1", "2022-03-20T00:00:00Z", "2022-03-20T01:00:00+00:00"),  # 08:00-09:00 local
        ("A", "c1", "2022-03-20T08:30+08:00", "2022-03-20 10:00"),
        ("B", "c1", "2022-03-19T19:30:00-05:00", "2022-03-20 08:40+0800"),  # 08:30-08:40 local
    ]
    assert run(tmp_path, engine, rows) == expect(
        "A,K1,c1,2022-03-20 08:30:00,2022-03-20 09:00:00,30.0",
        "B,K1,c1,2022-03-20 08:30:00,2022-03-20 08:40:00,10.0",
    )


def test_total_dwell_option(tmp_path, engine):
    rows = [
        (CASE_PHONE, "c1", "2022-03-20 08:00", "2022-03-20 08:30"),  # the case: 30 min in c1
        ("A", "c1", "2022-03-20 08:00", "2022-03-20 08:15"),  # A: 15 min in c1
        ("B", "c1", "2022-03-20 08:15", "2022-03-20 08:30"),
        ("B", "c1", "2022-03-18 10:00", "2022-03-18 10:50"),  # B: 65 min in c1 within the window
        ("B", "c1", "2022-02-01 10:00", "2022-02-01 20:00"),  # outside the window: not summed
        (CASE_PHONE, "c2", "2022-03-20 09:00", "2022-03-20 09:50"),
        (CASE_ID, "c2", "2022-03-19 09:00", "2022-03-19 09:20"),  # the case: 70 min in c2, two keys
        ("C", "c2", "2022-03-20 09:00", "2022-03-20 09:12"),
    ]
    hour = Params(lookback_days=14, codwell_minutes=10, cumulative_hours=1)
    assert run(tmp_path, engine, rows, params=hour) == expect(
        "B,K1,c1,2022-03-20 08:15:00,2022-03-20 08:30:00,15.0",
        "C,K1,c2,2022-03-20 09:00:00,2022-03-20 09:12:00,12.0",
    )
    assert run(tmp_path, engine, rows) == expect(  # off by default (the p9 edition has none)
        "A,K1,c1,2022-03-20 08:00:00,2022-03-20 08:15:00,15.0",
        "B,K1,c1,2022-03-20 08:15:00,2022-03-20 08:30:00,15.0",
        "C,K1,c2,2022-03-20 09:00:00,2022-03-20 09:12:00,12.0",
    )


def test_look_back_and_co_dwell_come_from_the_edition(tmp_path, engine):
    rows = [
        (CASE_PHONE, "c1", "2022-03-08 08:00", "2022-03-08 09:00"),  # 13 days before the report
        ("A", "c1", "2022-03-08 08:00", "2022-03-08 08:10"),
    ]
    assert run(tmp_path, engine, rows) == expect("A,K1,c1,2022-03-08 08:00:00,2022-03-08 08:10:00,10.0")
    assert run(tmp_path, engine, rows, params=Params(lookback_days=7, codwell_minutes=10)) == expect()
    assert run(tmp_path, engine, rows, params=Params(lookback_days=14, codwell_minutes=11)) == expect()


def test_params_of_an_edition():
    tracing = edition("p9").tracing
    assert P9 == Params(tracing.companion_lookback_days, tracing.companion_codwell_minutes, None)
    with_hours = type(
        "T",
        (),
        {"companion_lookback_days": 14, "companion_codwell_minutes": 10, "companion_cumulative_hours": 4.0},
    )()
    assert Params.of(with_hours).cumulative_hours == 4.0  # an edition that sets it turns it on


def test_parquet_with_typed_columns_gives_the_same_file(tmp_path, engine):
    shanghai = dt.timezone(dt.timedelta(hours=8))
    table = pa.table(
        {
            "Person_Key ": pa.array([13800000001, 2, 3], pa.int64()),  # phones as numbers
            "cell_id": ["c1", "c1", "c1"],
            "start": pa.array(  # wall time without a zone: Asia/Shanghai
                np.array(["2022-03-20T08:00", "2022-03-20T08:30", "2022-03-20T08:55"], dtype="datetime64[us]")
            ),
            "end": pa.array(
                [
                    dt.datetime(2022, 3, 20, 9, 0, tzinfo=shanghai),
                    dt.datetime(2022, 3, 20, 1, 45, tzinfo=dt.UTC),
                    dt.datetime(2022, 3, 20, 2, 0, tzinfo=dt.UTC),
                ],
                pa.timestamp("us", tz="UTC"),
            ),
            "extra": ["x", "y", "z"],
        }
    )
    path = tmp_path / "pings.parquet"
    pq.write_table(table, path)
    out = tmp_path / "out.csv"
    companions_write(path, CASES, P9, out, engine=engine)
    assert out.read_text() == expect("2,K1,c1,2022-03-20 08:30:00,2022-03-20 09:00:00,30.0")
    # The same pings as an Arrow table in memory.
    assert companions(table, CASES, P9, engine=engine).to_pylist() == [
        dict(
            zip(COLUMNS, ["2", "K1", "c1", "2022-03-20 08:30:00", "2022-03-20 09:00:00", "30.0"], strict=True)
        )
    ]


def test_cases_chosen_by_code(tmp_path, engine):
    cases = [*CASES, {"case_code": "K2", "id_number": "", "phone": "13900000002", "reported_at": REPORTED}]
    rows = [
        (CASE_PHONE, "c1", "2022-03-20 08:00", "2022-03-20 09:00"),
        ("13900000002", "c2", "2022-03-20 08:00", "2022-03-20 09:00"),
        ("A", "c1", "2022-03-20 08:00", "2022-03-20 09:00"),
        ("A", "c2", "2022-03-20 08:00", "2022-03-20 09:00"),
    ]
    assert run(tmp_path, engine, rows, cases=cases, case_codes=["K2"]) == expect(
        "A,K2,c2,2022-03-20 08:00:00,2022-03-20 09:00:00,60.0"
    )
    with pytest.raises(UnknownCases, match="K9"):
        run(tmp_path, engine, rows, cases=cases, case_codes=["K2", "K9"])


@pytest.mark.parametrize(
    ("header", "row", "code", "zh", "en"),
    [
        ("person_key,cell_id,start", None, "missing_column", "缺少列：end", "lacks the column(s): end"),
        (
            "person_key,cell_id,start,end",
            ("A", "c1", "2022-03-20", "2022-03-20 09:00"),
            "bad_time",
            "第 3 行：start “2022-03-20”不是有效时间",
            'At line 3: start "2022-03-20" is not a time',
        ),
        (
            "person_key,cell_id,start,end",
            ("A", "c1", "2022-03-20 08:00", "2022-02-30 09:00"),
            "bad_time",
            "第 3 行：end “2022-02-30 09:00”不是有效时间",
            'At line 3: end "2022-02-30 09:00" is not a time',
        ),
        (
            "person_key,cell_id,start,end",
            ("A", "c1", "2022-03-20 09:00", "2022-03-20 08:00"),
            "bad_interval",
            "第 3 行：end（2022-03-20 08:00）早于 start",
            "At line 3: end (2022-03-20 08:00) is before start",
        ),
        (
            "person_key,cell_id,start,end",
            ("", "c1", "2022-03-20 08:00", "2022-03-20 09:00"),
            "missing_field",
            "第 3 行：person_key 为空",
            "At line 3: person_key is blank",
        ),
        (
            "person_key,cell_id,start,end",
            ("A", " ", "2022-03-20 08:00", "2022-03-20 09:00"),
            "missing_field",
            "第 3 行：cell_id 为空",
            "At line 3: cell_id is blank",
        ),
    ],
)
def test_a_bad_file_is_refused_with_a_clear_message(tmp_path, engine, header, row, code, zh, en):
    good = (CASE_PHONE, "c1", "2022-03-20 08:00", "2022-03-20 09:00")
    rows = [good] if row is None else [good, row, row]
    if row is None:
        rows = [good[:3]]
    with pytest.raises(ImportFileError) as caught:
        companions_write(pings_csv(tmp_path, rows, header), CASES, P9, tmp_path / "out.csv", engine=engine)
    assert caught.value.code == code
    assert zh in caught.value.message_zh and en in caught.value.message_en
    if row is not None:
        assert "2 行数据有误" in caught.value.message_zh and "2 bad row(s)" in caught.value.message_en
    assert not (tmp_path / "out.csv").exists()


def test_bad_parquet_files(tmp_path, engine):
    missing = tmp_path / "nothing.parquet"
    with pytest.raises(ImportFileError) as caught:
        companions(missing, CASES, P9, engine=engine)
    assert caught.value.code == "not_found"
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"PAR1" + b"\0" * 64)
    with pytest.raises(ImportFileError) as caught:
        companions(broken, CASES, P9, engine=engine)
    assert caught.value.code == "unreadable" and "Parquet" in caught.value.message_en
    typed = tmp_path / "typed.parquet"
    pq.write_table(
        pa.table({"person_key": ["A"], "cell_id": [1.5], "start": [dt.date(2022, 3, 20)], "end": ["x"]}),
        typed,
    )
    with pytest.raises(ImportFileError) as caught:
        companions(typed, CASES, P9, engine=engine)
    assert caught.value.code == "wrong_type"
    assert "cell_id (DOUBLE)" in caught.value.message_en and "start (DATE)" in caught.value.message_zh
    numbered = tmp_path / "numbered.parquet"
    pq.write_table(
        pa.table(
            {
                "person_key": ["A", "B", "C"],
                "cell_id": ["c", "c", "c"],
                "start": ["2022-03-20 08:00"] * 3,
                "end": ["2022-03-20 09:00", "2022-03-20 09:00", "soon"],
            }
        ),
        numbered,
    )
    with pytest.raises(ImportFileError, match='data row 3: end "soon" is not a time'):
        companions(numbered, CASES, P9, engine=engine)


def test_a_case_without_a_report_time_is_refused():
    with pytest.raises(ValueError, match="K1"):
        companions(
            pa.table(
                {
                    "person_key": ["A"],
                    "cell_id": ["c"],
                    "start": ["2022-03-20 08:00"],
                    "end": ["2022-03-20 09:00"],
                }
            ),
            [{**CASES[0], "reported_at": ""}],
            P9,
        )


def random_city(seed: int, people: int = 400, stays: int = 3000):
    rng = random.Random(seed)
    base = dt.datetime(2022, 3, 10, tzinfo=dt.UTC)
    rows = []
    for _ in range(stays):
        start = base + dt.timedelta(minutes=rng.randrange(0, 16 * 24 * 60))
        end = start + dt.timedelta(
            minutes=rng.choice([0, 5, 9, 10, 11, 30, 90, 600]), seconds=rng.randrange(60)
        )
        key = f"1380000{rng.randrange(people):04d}"
        rows.append((key, f"c{rng.randrange(12)}", start.isoformat(), end.isoformat()))
    cases = [
        {
            "case_code": f"K{i}",
            "id_number": "",
            "phone": f"1380000{i * 7:04d}",
            "reported_at": base + dt.timedelta(days=rng.randrange(3, 16), hours=rng.randrange(24)),
        }
        for i in range(12)
    ]
    return rows, cases


@pytest.mark.slow
@pytest.mark.spark
def test_engines_write_identical_files(tmp_path, spark):
    rows, cases = random_city(7)
    for params in (P9, Params(lookback_days=5, codwell_minutes=10, cumulative_hours=2)):
        texts = {e: run(tmp_path, e, rows, cases=cases, params=params) for e in ("duckdb", "spark")}
        assert texts["duckdb"] == texts["spark"]
        assert texts["duckdb"].count("\n") > 20  # the fixture does find companions


def test_duckdb_matches_a_plain_loop_on_a_random_city(tmp_path):
    """The SQL against the contract read literally, pair by pair, in Python."""
    rows, cases = random_city(11)
    parse = dt.datetime.fromisoformat
    keys = {c["phone"]: c for c in cases}
    expected = []
    for case in cases:
        w1 = case["reported_at"]
        w0 = w1 - dt.timedelta(days=14)
        for key, cell, s, e in rows:
            if key != case["phone"]:
                continue
            cs, ce = max(parse(s), w0), min(parse(e), w1)
            for okey, ocell, os_, oe_ in rows:
                if ocell != cell or okey in keys:
                    continue
                a, b = max(cs, parse(os_)), min(ce, parse(oe_))
                if b > a and b - a >= dt.timedelta(minutes=10):
                    t = ((b - a) // dt.timedelta(microseconds=1) * 10 + 30_000_000) // 60_000_000
                    local = dt.timezone(dt.timedelta(hours=8))
                    expected.append(
                        (
                            okey,
                            case["case_code"],
                            a,
                            cell,
                            b,
                            f"{a.astimezone(local):%Y-%m-%d %H:%M:%S}",
                            f"{b.astimezone(local):%Y-%m-%d %H:%M:%S}",
                            f"{t // 10}.{t % 10}",
                        )
                    )
    expected.sort(key=lambda r: (r[0], r[1], r[2], r[3], r[4]))
    got = companions(pings_csv(tmp_path, rows), cases, P9).to_pylist()
    assert [tuple(r.values()) for r in got] == [(r[0], r[1], r[3], r[5], r[6], r[7]) for r in expected]
    assert len(got) > 20
