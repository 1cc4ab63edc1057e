"""The samples rules exist twice — DuckDB for files, a plain loop for a device's few rows — and
must decide every batch identically, whatever the stored state."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from lianfang.core.times import parse_time
from lianfang.people.idnumbers import validate_resident_ids_arrow
from lianfang.people.normalize import ID_TYPE_ALIASES
from lianfang.screening import rules
from tests.conftest import rid

IDS = [rid("350582", "19800101", f"{i:03d}") for i in range(4)] + ["123", "AB1234", "35058219800101001x"]
ROW = st.fixed_dictionaries(
    {
        "round_code": st.sampled_from(["R1", "R1", "R1", "R2", "R3", "RX", ""]),
        "tube_barcode": st.sampled_from(["T1", "T2", "T3", "T4", ""]),
        "pool_size": st.sampled_from(["1", "5", "5", "10", "10.0", "20", "7", "x", ""]),
        "id_type": st.sampled_from(["", "", "resident_id", "身份证", "passport", "bogus"]),
        "id_number": st.sampled_from([*IDS, ""]),
        "name": st.sampled_from(["", "张三"]),
        "site_code": st.sampled_from(["S1", "S1", "S2", "S9", ""]),
        "collected_at": st.sampled_from(
            [
                "2022-03-28 08:00",
                "2022-03-28T01:00:00Z",  # after LATEST: future_time
                "2022-03-28 07:59:59",  # R3 started a second later: within the skew
                "2022-03-28 07:50",  # before R3 started, beyond the skew
                "2022-03-28 05:00",  # before every round started
                "later",
                "",
            ]
        ),
        "box_code": st.sampled_from(["", "B1"]),
    }
)
# Mostly valid rows, so that tubes fill up and the order rules (capacity, duplicates) are exercised.
VALID = st.fixed_dictionaries(
    {
        "round_code": st.just("R1"),
        "tube_barcode": st.sampled_from(["T1", "T2"]),
        "pool_size": st.sampled_from(["1", "5"]),
        "id_type": st.just(""),
        "id_number": st.sampled_from(IDS[:4]),
        "name": st.just(""),
        "site_code": st.sampled_from(["S1", "S2"]),
        "collected_at": st.sampled_from(["2022-03-28 08:00", "2022-03-28 07:00"]),
        "box_code": st.just(""),
    }
)


def _naive_utc(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC).replace(tzinfo=None)


# R1's edition takes 20-person pools, R3's does not (an edition of early 2022). The earliest
# plausible times (a round's start less the clock skew; naive UTC, as the services pass them):
# R1 and R2 06:00 in Quanzhou, R3 07:55.
ROUNDS = pa.table(
    {
        "code": ["R1", "R2", "R3"],
        "round_id": pa.array([1, 2, 3], pa.int64()),
        "is_open": [True, False, True],
        "pool_sizes": pa.array([[1.0, 5.0, 10.0, 20.0]] * 2 + [[1.0, 5.0, 10.0]], pa.list_(pa.float64())),
        "earliest": pa.array(
            [_naive_utc(2022, 3, 27, 22)] * 2 + [_naive_utc(2022, 3, 27, 23, 55)], pa.timestamp("us")
        ),
    }
)
# The latest plausible time (the server's clock and its skew): 08:30 in Quanzhou.
LATEST = _naive_utc(2022, 3, 28, 0, 30)
SITES = pa.table({"code": ["S1", "S2"], "site_id": pa.array([10, 20], pa.int64())})
STORED = st.lists(
    st.tuples(
        st.sampled_from(["T1", "T2", "T9"]),
        st.sampled_from([1, 2]),
        st.sampled_from([1, 5, 10]),
        st.booleans(),
        st.lists(st.sampled_from(IDS[:4]), max_size=3, unique=True),
    ),
    max_size=3,
    unique_by=lambda t: t[0],
)


def _stored(tubes):
    first = dt.datetime(2022, 3, 28, 0, 30, tzinfo=dt.UTC).replace(tzinfo=None)  # naive UTC, as stored
    existing = pa.Table.from_pylist(
        [
            {
                "barcode": b,
                "tube_id": i + 100,
                "round_id": r,
                "pool_size": p,
                "screening": s,
                "members": len(m),
                "first_collected_at": first,
            }
            for i, (b, r, p, s, m) in enumerate(tubes)
        ],
        schema=pa.schema(
            [
                ("barcode", pa.string()),
                ("tube_id", pa.int64()),
                ("round_id", pa.int64()),
                ("pool_size", pa.int32()),
                ("screening", pa.bool_()),
                ("members", pa.int64()),
                ("first_collected_at", pa.timestamp("us")),
            ]
        ),
    )
    members = pa.Table.from_pylist(
        [{"barcode": b, "id_type": "resident_id", "id_number": n} for b, _, _, _, m in tubes for n in m],
        schema=pa.schema([("barcode", pa.string()), ("id_type", pa.string()), ("id_number", pa.string())]),
    )
    return existing, members


def _sorted(table: pa.Table, keys: list[str]) -> list[dict]:
    return table.sort_by([(k, "ascending") for k in keys]).to_pylist()


@settings(max_examples=200, deadline=None)
@given(rows=st.lists(st.one_of(VALID, ROW), min_size=1, max_size=30), stored=STORED)
def test_small_batch_loop_decides_exactly_like_duckdb(rows, stored):
    raw = rules.text_table(pa.Table.from_pylist(rows), rules.SAMPLE_COLUMNS)
    existing, members = _stored(stored)
    kwargs = {
        "rid_ok": validate_resident_ids_arrow(raw.column("id_number"), today=dt.date(2022, 3, 28)),
        "id_type_aliases": {k: str(v) for k, v in ID_TYPE_ALIASES.items()},
        "rounds": ROUNDS,
        "sites": SITES,
        "existing_tubes": existing,
        "existing_members": members,
        "parse_time": parse_time,
        "latest": LATEST,
    }
    big = rules.samples_decide(raw, **kwargs)
    small = rules.samples_decide_small(raw, **kwargs)
    assert big["outcomes"].to_pylist() == small["outcomes"].to_pylist()
    assert _sorted(big["accepted"], ["pos"]) == _sorted(small["accepted"], ["pos"])
    assert _sorted(big["new_tubes"], ["barcode"]) == _sorted(small["new_tubes"], ["barcode"])
    assert _sorted(big["earlier"], ["tube_id"]) == _sorted(small["earlier"], ["tube_id"])
    counts = rules.summarise(big["outcomes"])
    assert sum(counts.values()) == len(rows)
    assert np.all(np.array([o for o in big["outcomes"].column("outcome").to_pylist()]) != "")
