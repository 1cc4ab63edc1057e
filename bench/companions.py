"""时空伴随 at telecom scale: ``lianfang.analytics.companions`` against raw DuckDB SQL, and Spark.

    python bench/companions.py --pings 96000000 --cases 300 [--spark-pings 10000000] [--people N] [--cells N]

Set-up (timed, not in the ratios): a synthetic city's telecom pings generated with numpy and Arrow
(``--people`` phones, default one per 32 pings; ``--cells`` 800 m cells, default 20,000 — about
Quanzhou's 11,000 km²; each stay starts uniformly over 16 days and lasts 1 to 240 minutes,
exponential with a mean of 45), held as an Arrow table (``timestamp[us, UTC]`` times, phones and
cells as text) and written to one Parquet file. ``--cases`` of the phones are cases, reported
over the last two days, so each has a full 14-day window of stays.

Timed phases (the product, ``lianfang.analytics.companions.companions`` with the p9 edition's
parameters, its bad-row scan included; ``write_csv`` is timed apart):

* ``memory`` — over the Arrow table in memory; ``parquet`` — over the Parquet file;
* ``write_csv`` — ``companions.csv`` from the rows found;
* with ``--spark-pings N`` (default 10 M; 0: none): ``duckdb_small`` and ``spark_small``, both
  engines on the first N pings (from Parquet), whose files must be identical.

Baselines in the same process: ``raw_memory`` / ``raw_parquet``, the same rules as one hand-written
DuckDB query over the same table / file (typed times, no normalisation, no check); its row count
must equal the product's (the run fails loudly otherwise). Ratios: memory / raw_memory and parquet /
raw_parquet (goal ≤ 2), spark_small / duckdb_small. Peak RSS: the whole process (the pings table
held in memory included) and ``peak_rss_phases_mb``, the high-water mark during the timed phases
alone (Linux ``clear_refs``); the Spark driver's JVM is another process, not counted.
"""

from __future__ import annotations

import argparse
import datetime as dt
import filecmp
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from lianfang.analytics import companions as engine
from lianfang.protocol import edition

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import Timer, peak_rss_mb, result  # noqa: E402

START = dt.datetime(2022, 3, 6, tzinfo=dt.UTC)
DAYS = 16


def hwm_reset() -> None:
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def hwm_mb() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return peak_rss_mb()


def generate(pings: int, people: int, cells: int, seed: int = 20220320) -> pa.Table:
    """``pings`` stays of ``people`` phones in ``cells`` cells over 16 days, vectorised."""
    rng = np.random.default_rng(seed)
    chunk = 8_000_000
    batches = []
    base_us = int(START.timestamp()) * 1_000_000
    for offset in range(0, pings, chunk):
        n = min(chunk, pings - offset)
        person = rng.integers(0, people, n, dtype=np.int64) + 13_000_000_000
        cell = rng.integers(0, cells, n, dtype=np.int64) + 4_600_000
        start = base_us + rng.integers(0, DAYS * 86_400, n, dtype=np.int64) * 1_000_000
        minutes = np.clip(rng.exponential(45.0, n), 1, 240)
        end = start + (minutes * 60_000_000).astype(np.int64)
        batches.append(
            pa.record_batch(
                {
                    "person_key": pa.array(person).cast(pa.string()),
                    "cell_id": pa.array(cell).cast(pa.string()),
                    "start": pa.array(start).cast(pa.timestamp("us", tz="UTC")),
                    "end": pa.array(end).cast(pa.timestamp("us", tz="UTC")),
                }
            )
        )
    return pa.Table.from_batches(batches)


def make_cases(count: int, people: int, seed: int = 7) -> list[dict]:
    rng = np.random.default_rng(seed)
    phones = rng.choice(people, size=count, replace=False) + 13_000_000_000
    reported = START + dt.timedelta(days=DAYS - 2)
    return [
        {
            "case_code": f"C{i:05d}",
            "id_number": "",
            "phone": str(int(phone)),
            "reported_at": reported + dt.timedelta(minutes=int(rng.integers(0, 2 * 1440))),
        }
        for i, phone in enumerate(phones)
    ]


RAW_SQL = """
WITH k AS (
    SELECT case_code, key, reported_at - INTERVAL {lookback} DAY AS w0, reported_at AS w1 FROM raw_cases
), cs AS (
    SELECT k.case_code, p.cell_id, greatest(p.start, k.w0) AS s, least(p."end", k.w1) AS e
    FROM {pings} p JOIN k ON p.person_key = k.key
    WHERE p.start < k.w1 AND p."end" > k.w0
)
SELECT o.person_key, cs.case_code, cs.cell_id, greatest(cs.s, o.start) AS os, least(cs.e, o."end") AS oe
FROM cs JOIN {pings} o ON o.cell_id = cs.cell_id AND o.start < cs.e AND o."end" > cs.s
WHERE o.person_key NOT IN (SELECT key FROM k)
  AND least(cs.e, o."end") - greatest(cs.s, o.start) >= INTERVAL {codwell} MINUTE
ORDER BY 1, 2, 4, 3
"""


def raw_duckdb(pings_sql: str, cases: list[dict], params: engine.Params, register: pa.Table | None) -> int:
    """The rules as one plain DuckDB query (typed times), fetched as Arrow; returns the row count."""
    import duckdb

    con = duckdb.connect()
    if register is not None:
        con.register("pings_mem", register)
    con.register(
        "raw_cases",
        pa.table(
            {
                "case_code": [c["case_code"] for c in cases],
                "key": [c["phone"] for c in cases],
                "reported_at": pa.array([c["reported_at"] for c in cases], pa.timestamp("us", tz="UTC")),
            }
        ),
    )
    sql = RAW_SQL.format(pings=pings_sql, lookback=params.lookback_days, codwell=params.codwell_minutes)
    rel = con.sql(sql)
    table = (getattr(rel, "to_arrow_table", None) or rel.fetch_arrow_table)()
    con.close()
    return table.num_rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pings", type=int, default=96_000_000)
    parser.add_argument("--cases", type=int, default=300)
    parser.add_argument("--people", type=int, default=0, help="phones (default: pings / 32)")
    parser.add_argument("--cells", type=int, default=20_000)
    parser.add_argument("--spark-pings", type=int, default=10_000_000, help="0: no Spark run")
    parser.add_argument("--dir", help="scratch folder (default: a new temporary one)")
    args = parser.parse_args()
    people = args.people or max(args.pings // 32, args.cases * 10)
    folder = Path(args.dir or tempfile.mkdtemp(prefix="bench-companions-"))
    folder.mkdir(parents=True, exist_ok=True)
    params = engine.Params.of(edition("p9").tracing)
    timer = Timer()
    print(
        f"companions: {args.pings:,} pings, {people:,} phones, {args.cells:,} cells, {args.cases} cases",
        file=sys.stderr,
    )

    started = time.perf_counter()
    table = generate(args.pings, people, args.cells)
    cases = make_cases(args.cases, people)
    parquet = folder / "pings.parquet"
    pq.write_table(table, parquet, row_group_size=1 << 20)
    setup = round(time.perf_counter() - started, 1)
    print(
        f"  set-up   generate + Parquet ({parquet.stat().st_size / 2**30:.1f} GiB) {setup:8.1f} s",
        file=sys.stderr,
    )

    counts = {}
    phase_peak = 0.0
    with timer.phase("raw_memory", baseline=True):
        counts["raw_memory"] = raw_duckdb("pings_mem", cases, params, table)
    hwm_reset()
    with timer.phase("memory"):
        found = engine.companions(table, cases, params)
    phase_peak = max(phase_peak, hwm_mb())
    counts["memory"] = found.num_rows
    with timer.phase("write_csv"):
        engine.write_csv(found, folder / "companions.csv")
    literal = "'" + str(parquet).replace("'", "''") + "'"
    with timer.phase("raw_parquet", baseline=True):
        counts["raw_parquet"] = raw_duckdb(f"read_parquet({literal})", cases, params, None)
    hwm_reset()
    with timer.phase("parquet"):
        counts["parquet"] = engine.companions(parquet, cases, params).num_rows
    phase_peak = max(phase_peak, hwm_mb())
    if len(set(counts.values())) != 1:
        print(f"ROW COUNTS DIFFER: {counts}", file=sys.stderr)
        sys.exit(1)
    ratio_of = {"memory": ("memory", "raw_memory"), "parquet": ("parquet", "raw_parquet")}

    extra: dict = {"rows": counts["memory"], "people": people, "cells": args.cells, "cases": args.cases}
    if args.spark_pings:
        small = folder / "pings-small.parquet"
        pq.write_table(table.slice(0, args.spark_pings), small, row_group_size=1 << 20)
        del table
        small_cases = cases
        with timer.phase("duckdb_small"):
            engine.companions_write(small, small_cases, params, folder / "duckdb-small.csv")
        started = time.perf_counter()
        engine.spark_session()
        extra["spark_session_start_s"] = round(time.perf_counter() - started, 1)
        with timer.phase("spark_small"):
            engine.companions_write(small, small_cases, params, folder / "spark-small.csv", engine="spark")
        same = filecmp.cmp(folder / "duckdb-small.csv", folder / "spark-small.csv", shallow=False)
        extra.update(spark_pings=args.spark_pings, spark_identical=same)
        if not same:
            print("SPARK AND DUCKDB FILES DIFFER", file=sys.stderr)
            sys.exit(1)
        ratio_of["spark_vs_duckdb"] = ("spark_small", "duckdb_small")
    ratio = {
        k: round(timer.phases[p] / timer.baseline.get(b, timer.phases.get(b, 0)), 2)
        for k, (p, b) in ratio_of.items()
    }
    for key, value in ratio.items():
        print(f"  ratio    {key:<28} {value:8.2f} ×", file=sys.stderr)
    out = {
        **result("companions", args.pings, "duckdb", timer, ratio),
        "peak_rss_phases_mb": phase_peak,
        "setup_s": setup,
        **extra,
    }
    print(f"  peak RSS {out['peak_rss_mb']:.0f} MB (phases {phase_peak:.0f} MB)", file=sys.stderr)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
