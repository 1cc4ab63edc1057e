"""A city-wide screening round end to end: samples, results and the round report, against raw baselines.

    python bench/screening.py --persons 1000000 [--db sqlite | --db postgres://postgres@127.0.0.1:5432/lianfang_bench]

Set-up (timed, not part of the ratios): generate the synthetic city (numpy), write the round's files
into a scratch directory, load the registry through ``lianfang import persons``, open the round
(scope ``3505``, the whole city) and import ``sites.csv`` and ``labs.csv``.

The files, all built with numpy / pyarrow (no Python loop per row):

* ``sites.csv`` — one site per ~2,500 people, placed in real communities in proportion to their
  population; people of a community without a site go to one in their town (else county).
* ``labs.csv`` — 10 labs.
* ``samples.csv`` — ~95 % of registered people plus ~0.2 % unregistered visitors (valid IDs from
  other provinces), in 10-person pools at their site within one day (07:00-19:00). ~1 % of pools
  are late: collected in the evening, their rows written at the end of the file. ~0.5 % of rows
  are sent again (same person, same tube, scanned 30-120 s later, somewhere after the original:
  ``duplicate``). ~0.05 % of rows are bad: wrong ID check digit, unknown site or a date without a
  time (rejected).
* ``results.csv`` — one result per tube, ~0.1 % positive, ~0.05 % inconclusive (re-run: half
  positive, half negative), ~0.3 % invalid (60 % re-run negative), ~0.2 % of rows sent twice
  (``duplicate``), results for ~0.05 % more tubes that never arrive (``held``); ~40 % of the late
  pools have no result yet (pending tubes).
* Parquet copies of persons, samples and results, and the community list, for the DuckDB baseline.

Timed phases (the real code path, ``actor=None`` as the CLI): ``import_samples`` and
``import_results`` (``lianfang.imports.services.import_file``), ``round_report``
(``lianfang.screening.report.round_report_write``: the five files of FORMATS.md).

Baselines, in the same process on the same files:

* ``raw_load`` — samples.csv and results.csv read with the csv module and bulk-loaded into two
  plain tables (text columns, no index) of the same database: SQLite executemany in one
  transaction, PostgreSQL COPY (``lianfang.core.db.bulk_insert``, as in people_import.py).
* ``duckdb_report`` — plain DuckDB SQL computing the same five report files straight from the
  Parquet files written at generation (applying the row rules the data needs: ID check digit,
  known site, time, duplicates, pool capacity; result validity and duplicates; held results).
  Its summary must equal the product's ``summary.json`` (the run fails loudly otherwise); the
  other four files are compared byte for byte and any difference is reported.

Ratios: ingest = (import_samples + import_results) / raw_load, goal ≤ 4×; report = round_report /
duckdb_report, goal ≤ 3×; peak RSS goal ≤ 4 GB. Generating the city and loading the registry run
in a child process (``peak_rss_setup_child_mb``), so that the memory they leave behind does not
count against the screening phases; ``peak_rss_mb`` is the whole main process (the baselines
included) and ``peak_rss_screening_mb`` the peak during the three timed phases alone (Linux
``clear_refs``). ``--profile FILE`` runs the three timed phases under cProfile. ``--reuse DIR``
runs the timed phases again on the registry and files an earlier run left (its ``setup.json``):
at 10 M people the registry load alone takes 20-45 minutes.

If an import fails as one file (a database error — e.g. a statement with more bound parameters
than SQLite or PostgreSQL allow), the failure and its time are printed and kept in the JSON line
(``imports``), and the same rows are imported again as consecutive files of ``--chunk-rows`` rows
(a lab posting batches); that time is then the phase's, and the JSON says so.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import Timer, peak_rss_mb, prepare_database  # noqa: E402

ROUND_CODE = "QZ-2022-0328"
SCOPE = "3505"
DAY = dt.date(2022, 3, 28)  # the generator's DEFAULT_TODAY: the round's day
PEOPLE_PER_SITE = 2_500
LABS = 10
POOL = 10
SAMPLED_SHARE = 0.95
VISITOR_SHARE = 0.002
LATE_POOL_SHARE = 0.01
LATE_PENDING_SHARE = 0.40
DUPLICATE_ROW_SHARE = 0.005
BAD_ROW_SHARE = 0.0005
POSITIVE_SHARE = 0.001
INCONCLUSIVE_SHARE = 0.0005
INVALID_SHARE = 0.003
INVALID_RERUN_SHARE = 0.6
RESULT_RESENT_SHARE = 0.002
HELD_SHARE = 0.0005

ID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
ID_CHECK = "10X98765432"
VISITOR_PREFIXES = np.array([510104, 511321, 500101, 360702, 520221, 430102, 411302, 341222], dtype=np.int64)
TIME_FMT = "%Y-%m-%d %H:%M:%S"


# ---------------------------------------------------------------------------------------------
# Peak memory of a stretch of the run (Linux: reset the high-water mark, read it back)


_PEAK_SO_FAR = [0.0]  # the process's peak before the last reset (a reset also lowers ru_maxrss)


def hwm_reset() -> None:
    _PEAK_SO_FAR[0] = max(_PEAK_SO_FAR[0], hwm_mb())
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


def rss_mb() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return 0.0


def whole_run_peak_mb() -> float:
    return max(_PEAK_SO_FAR[0], hwm_mb(), peak_rss_mb())


# ---------------------------------------------------------------------------------------------
# Generation (vectorised)


def _str(values: np.ndarray, width: int = 0) -> pa.Array:
    out = pc.cast(pa.array(values), pa.string())
    return pc.utf8_lpad(out, width=width, padding="0") if width else out


def _join(*parts) -> pa.Array:
    return pc.binary_join_element_wise(*parts, "")


def _times(local_seconds: np.ndarray) -> pa.Array:
    """Naive Shanghai wall-clock seconds since the epoch → 'YYYY-MM-DD HH:MM:SS'."""
    return pc.strftime(pa.array(local_seconds.astype("datetime64[s]")), format=TIME_FMT)


def _resident_ids(keys: np.ndarray) -> pa.Array:
    """17-digit keys (region + yyyymmdd + sequence) → 18-character resident IDs with check digit."""
    mat = np.empty((len(keys), 18), dtype=np.uint8)
    total = np.zeros(len(keys), dtype=np.int64)
    k = keys.copy()
    for i in range(16, -1, -1):
        d = k % 10
        mat[:, i] = 48 + d
        total += d * ID_WEIGHTS[i]
        k //= 10
    mat[:, 17] = np.frombuffer(ID_CHECK.encode(), dtype=np.uint8)[total % 11]
    offsets = np.arange(0, (len(keys) + 1) * 18, 18, dtype=np.int32)
    return pa.Array.from_buffers(
        pa.string(), len(keys), [None, pa.py_buffer(offsets), pa.py_buffer(mat.reshape(-1).copy())]
    )


def _largest_remainder(total: int, weights: np.ndarray) -> np.ndarray:
    w = np.asarray(weights, dtype=np.float64)
    exact = total * w / w.sum()
    base = np.floor(exact).astype(np.int64)
    short = total - int(base.sum())
    if short:
        base[np.argsort(-(exact - base), kind="stable")[:short]] += 1
    return base


def _day_seconds(hour: int) -> int:
    """Seconds since the epoch of ``hour``:00 on the round's day, Shanghai wall-clock time (naive)."""
    return int(
        (
            dt.datetime.combine(DAY, dt.time(hour), tzinfo=dt.UTC) - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
        ).total_seconds()
    )


def write_files(pop: pa.Table, out: Path, seed: int) -> dict[str, int]:
    """Write every input file of the round into ``out``; returns the counts the generator knows."""
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    from lianfang.simulate.generator import load_divisions

    rng = np.random.default_rng(seed + 7)
    n = pop.num_rows
    div = load_divisions()
    nc = len(div.community_code)
    comm_codes = pa.array(div.community_code.astype(str), pa.string())
    comm_of = pc.index_in(pop.column("community_code"), value_set=comm_codes).to_numpy()
    assert (comm_of >= 0).all()

    # Registry and community list (the baseline's inputs; the registry also goes through the import).
    person_cols = ["id_type", "id_number", "name", "phone", "community_code", "address", "birth_date", "tags"]
    pacsv.write_csv(pop.select(person_cols), out / "persons.csv")
    pq.write_table(pop.select(person_cols), out / "persons.parquet")
    pq.write_table(
        pa.table({"community_code": comm_codes, "community_name": pa.array(div.community_name.astype(str))}),
        out / "communities.parquet",
    )

    # Sites: one per ~2,500 people, per county then per community in proportion to their people.
    people_per_comm = np.bincount(comm_of, minlength=nc)
    n_sites = max(1, round(n / PEOPLE_PER_SITE))
    county_people = np.bincount(div.community_county, weights=people_per_comm, minlength=len(div.county_code))
    sites_per_comm = np.zeros(nc, dtype=np.int64)
    for k, k_sites in enumerate(_largest_remainder(n_sites, county_people)):
        if k_sites:
            idx = np.flatnonzero(div.community_county == k)
            sites_per_comm[idx] = _largest_remainder(int(k_sites), people_per_comm[idx])
    host = np.arange(nc)
    has = sites_per_comm > 0
    for c in np.flatnonzero(~has):  # a community without a site uses one in its town, else county
        for same in (
            div.community_town == div.community_town[c],
            div.community_county == div.community_county[c],
        ):
            cand = np.flatnonzero(same & has)
            if len(cand):
                host[c] = cand[np.argmax(sites_per_comm[cand])]
                break
        else:
            host[c] = int(np.argmax(sites_per_comm))
    site_first = np.concatenate([[0], np.cumsum(sites_per_comm)[:-1]])
    site_comm = np.repeat(np.arange(nc), sites_per_comm)
    site_serial = np.arange(n_sites) - site_first[site_comm] + 1
    short = np.array(
        [s[:-3] if s.endswith(("居委会", "村委会")) else s for s in div.community_name.astype(str)]
    )
    site_code = _join(pa.scalar("S"), pc.take(comm_codes, pa.array(site_comm)), _str(site_serial, 2))
    sites = pa.table(
        {
            "site_code": site_code,
            "name": _join(pa.array(short[site_comm]), pa.scalar("核酸采样点"), _str(site_serial)),
            "community_code": pc.take(comm_codes, pa.array(site_comm)),
            "desks": _str(rng.integers(2, 9, n_sites)),
        }
    )
    pacsv.write_csv(sites, out / "sites.csv")
    labs = pa.table(
        {
            "lab_code": _join(pa.scalar("LAB"), _str(np.arange(1, LABS + 1), 2)),
            "name": _join(pa.scalar("泉州检测机构"), _str(np.arange(1, LABS + 1))),
            "daily_capacity": _str(np.full(LABS, 200_000)),
        }
    )
    pacsv.write_csv(labs, out / "labs.csv")

    # Who is sampled where: households stay together at their community's (host's) site.
    hh = pop.column("household")
    new_hh = pc.not_equal(hh.slice(1), hh.slice(0, n - 1)).to_numpy(zero_copy_only=False)
    hh_of = np.concatenate([[0], np.cumsum(new_hh)]) if n else np.zeros(0, np.int64)
    h = host[comm_of]
    person_site = site_first[h] + (hh_of * 2_654_435_761 % 2**32) % sites_per_comm[h]
    sampled = np.flatnonzero(rng.random(n) < SAMPLED_SHARE)
    n_vis = int(round(n * VISITOR_SHARE))
    vis_birth = np.datetime64("1965-01-01") + rng.integers(0, 35 * 365, n_vis)
    y = vis_birth.astype("datetime64[Y]").astype(np.int64) + 1970
    m0 = vis_birth.astype("datetime64[M]")
    ymd = (
        y * 10000
        + (m0.astype(np.int64) % 12 + 1) * 100
        + (vis_birth - m0.astype("datetime64[D]")).astype(np.int64)
        + 1
    )
    vis_key = (
        VISITOR_PREFIXES[rng.integers(0, len(VISITOR_PREFIXES), n_vis)] * 10**11
        + ymd * 1000
        + rng.integers(0, 1000, n_vis)
    )
    vis_key = np.unique(vis_key)
    vis_id = _resident_ids(vis_key)
    vis_id = vis_id.filter(pc.invert(pc.is_in(vis_id, value_set=pop.column("id_number"))))
    n_vis = len(vis_id)
    surnames = pa.array(list("陈林黄王吴李张刘杨赵周徐孙马朱胡郭何高罗"))
    given = pa.array(list("伟强磊军勇杰涛斌芳娜敏静丽艳娟霞燕玲"))
    vis_name = _join(
        pc.take(surnames, pa.array(rng.integers(0, len(surnames), n_vis))),
        pc.take(given, pa.array(rng.integers(0, len(given), n_vis))),
    )
    ent_site = np.concatenate([person_site[sampled], rng.integers(0, n_sites, n_vis)])
    ent_id = pa.chunked_array([pc.take(pop.column("id_number"), pa.array(sampled)), vis_id]).combine_chunks()
    ent_name = pa.chunked_array([pc.take(pop.column("name"), pa.array(sampled)), vis_name]).combine_chunks()
    n_ent = len(ent_site)

    # 10-person pools at each site, in sampling order; pools spread over 07:00-19:00.
    order = np.argsort(ent_site, kind="stable")
    e_site = ent_site[order]
    site_start = np.searchsorted(e_site, np.arange(n_sites))
    rank = np.arange(n_ent) - site_start[e_site]
    member = rank % POOL
    pool_local = rank // POOL
    pool_of = np.cumsum(member == 0) - 1
    n_pools = int(pool_of[-1]) + 1
    pools_at_site = (np.bincount(e_site, minlength=n_sites) + POOL - 1) // POOL
    pool_site = e_site[member == 0]
    pool_local_of = pool_local[member == 0]
    pool_time = _day_seconds(7) + (pool_local_of * 43_200 // np.maximum(pools_at_site[pool_site], 1))
    late = rng.random(n_pools) < LATE_POOL_SHARE
    pool_time = np.where(late, _day_seconds(19) + rng.integers(0, 3 * 3600, n_pools), pool_time)
    row_time = pool_time[pool_of] + member * 15 + rng.integers(0, 10, n_ent)
    barcode = _join(pa.scalar("QZ"), _str(np.arange(n_pools) + 10**9, 10))
    box = _join(pc.take(site_code, pa.array(pool_site)), pa.scalar("-B"), _str(pool_local_of // 20, 3))

    # File order: pools in sampling order, late pools at the end; duplicates after their original.
    row_late = late[pool_of]
    pos_key = np.where(row_late, n_ent + np.arange(n_ent), np.arange(n_ent)).astype(np.float64)
    dup = np.flatnonzero(rng.random(n_ent) < DUPLICATE_ROW_SHARE)
    src = np.concatenate([np.arange(n_ent), dup])
    key = np.concatenate([pos_key, pos_key[dup] + rng.uniform(0.5, 5_000, len(dup))])
    when = np.concatenate([row_time, row_time[dup] + rng.integers(30, 121, len(dup))])
    fo = np.argsort(key, kind="stable")
    src, when = src[fo], when[fo]
    n_rows = len(src)
    ent_take = pa.array(order[src])
    rows = {
        "round_code": pa.array(np.full(n_rows, ROUND_CODE)),
        "tube_barcode": pc.take(barcode, pa.array(pool_of[src])),
        "pool_size": pa.array(np.full(n_rows, str(POOL))),
        "id_type": pa.array(np.full(n_rows, "resident_id")),
        "id_number": pc.take(ent_id, ent_take),
        "name": pc.take(ent_name, ent_take),
        "site_code": pc.take(site_code, pa.array(e_site[src])),
        "collected_at": _times(when),
        "box_code": pc.take(box, pa.array(pool_of[src])),
    }
    # Bad rows: a wrong check digit, an unknown site, a date with no time.
    bad = np.flatnonzero(rng.random(n_rows) < BAD_ROW_SHARE)
    kind = rng.integers(0, 3, len(bad))
    ids = pc.take(rows["id_number"], pa.array(bad, pa.int64())).to_pylist()
    wrong = pa.array([s[:17] + ("0" if s[17] in "X9" else str(int(s[17]) + 1)) for s in ids], pa.string())
    rows["id_number"] = _replace(rows["id_number"], bad[kind == 0], pc.filter(wrong, pa.array(kind == 0)))
    rows["site_code"] = _replace(
        rows["site_code"], bad[kind == 1], pa.array(["S-UNKNOWN"] * int((kind == 1).sum()))
    )
    rows["collected_at"] = _replace(
        rows["collected_at"], bad[kind == 2], pa.array([DAY.isoformat()] * int((kind == 2).sum()))
    )
    samples = pa.table(rows)
    pacsv.write_csv(samples, out / "samples.csv")
    pq.write_table(samples, out / "samples.parquet")
    del samples, rows

    # Results: one per pool (but the pending late ones), re-runs, resent rows, held tubes.
    pending = late & (rng.random(n_pools) < LATE_PENDING_SHARE)
    u = rng.random(n_pools)
    outcome = np.where(
        u < POSITIVE_SHARE,
        1,
        np.where(
            u < POSITIVE_SHARE + INCONCLUSIVE_SHARE,
            2,
            np.where(u < POSITIVE_SHARE + INCONCLUSIVE_SHARE + INVALID_SHARE, 3, 0),
        ),
    )
    n_held = max(1, int(round(n_pools * HELD_SHARE)))
    first = np.flatnonzero(~pending)
    lab_of = rng.integers(1, LABS + 1, n_pools + n_held)
    report_time = np.concatenate(
        [
            pool_time + rng.integers(4 * 3600, 10 * 3600, n_pools),
            _day_seconds(12) + rng.integers(0, 8 * 3600, n_held),
        ]
    )
    # rerun 1: inconclusive pools → positive/negative; invalid pools (60 %) → negative.
    rerun = np.flatnonzero(
        ~pending & ((outcome == 2) | ((outcome == 3) & (rng.random(n_pools) < INVALID_RERUN_SHARE)))
    )
    rerun_result = np.where(outcome[rerun] == 2, np.where(rng.random(len(rerun)) < 0.5, 1, 0), 0)
    r_tube = np.concatenate([first, rerun, n_pools + np.arange(n_held)])
    r_result = np.concatenate([outcome[first], rerun_result, np.zeros(n_held, np.int64)])
    r_time = np.concatenate([report_time[first], report_time[rerun] + 2 * 3600, report_time[n_pools:]])
    resent = np.flatnonzero(rng.random(len(r_tube)) < RESULT_RESENT_SHARE)
    r_tube, r_result, r_time = (np.concatenate([a, a[resent]]) for a in (r_tube, r_result, r_time))
    # (a resent row repeats its original exactly: the Ct values are drawn per tube and result)
    ct_tube = np.round(rng.uniform(22, 35, n_pools + n_held), 2)
    ct1 = np.where(r_result == 1, ct_tube[r_tube], np.where(r_result == 2, 38.5, np.nan))
    ct2 = np.where(r_result == 1, np.round(ct_tube[r_tube] + 1.25, 2), np.nan)
    ro = np.argsort(r_time, kind="stable")
    r_tube, r_result, r_time, ct1, ct2 = (a[ro] for a in (r_tube, r_result, r_time, ct1, ct2))
    all_barcodes = pa.chunked_array(
        [barcode, _join(pa.scalar("QZ"), _str(np.arange(n_held) + 9 * 10**9, 10))]
    ).combine_chunks()
    results = pa.table(
        {
            "tube_barcode": pc.take(all_barcodes, pa.array(r_tube)),
            "lab_code": _join(pa.scalar("LAB"), _str(lab_of[r_tube], 2)),
            "result": pc.take(
                pa.array(["negative", "positive", "inconclusive", "invalid"]), pa.array(r_result)
            ),
            "ct_orf1ab": pc.fill_null(pc.cast(pa.array(ct1, from_pandas=True), pa.string()), ""),
            "ct_n": pc.fill_null(pc.cast(pa.array(ct2, from_pandas=True), pa.string()), ""),
            "reported_at": _times(r_time),
        }
    )
    pacsv.write_csv(results, out / "results.csv")
    pq.write_table(results, out / "results.parquet")
    return {
        "persons": n,
        "communities": nc,
        "sites": n_sites,
        "labs": LABS,
        "visitors": n_vis,
        "pools": n_pools,
        "sample_rows": n_rows,
        "duplicate_rows": len(dup),
        "bad_rows": len(bad),
        "late_pools": int(late.sum()),
        "result_rows": results.num_rows,
        "held_tubes": n_held,
    }


def _replace(column: pa.Array, at: np.ndarray, values: pa.Array) -> pa.Array:
    if len(at) == 0:
        return column
    mask = np.zeros(len(column), dtype=bool)
    mask[at] = True
    return pc.replace_with_mask(column, pa.array(mask), values.cast(column.type))


# ---------------------------------------------------------------------------------------------
# Baseline 1: raw bulk load of the two files into plain tables


def raw_load(folder: Path) -> int:
    from django.db import connection, transaction

    from lianfang.core.db import bulk_insert

    loaded = 0
    for name in ("samples", "results"):
        table = f"bench_raw_{name}"
        with open(folder / f"{name}.csv", encoding="utf-8", newline="") as f:
            reader = csv.reader(f)
            header = next(reader)
            with transaction.atomic():
                with connection.cursor() as cursor:
                    cursor.execute(f"DROP TABLE IF EXISTS {table}")
                    cursor.execute(f"CREATE TABLE {table} ({', '.join(f'{c} TEXT' for c in header)})")
                loaded += bulk_insert(table, header, reader)
    return loaded


# ---------------------------------------------------------------------------------------------
# Baseline 2: the round report in plain DuckDB SQL from the generated files


def _check_digit_sql(col: str) -> str:
    total = " + ".join(f"(ascii({col}[{i + 1}]) - 48) * {w}" for i, w in enumerate(ID_WEIGHTS))
    return f"substr('{ID_CHECK}', (({total}) % 11) + 1, 1)"


def duckdb_report(folder: Path, out: Path, *, start: dt.datetime) -> dict:
    """The five report files of the round, from persons/samples/results Parquet, sites.csv, labs.csv."""
    import duckdb

    out.mkdir(parents=True, exist_ok=True)
    start_local = start.astimezone(dt.timezone(dt.timedelta(hours=8)))
    d = start_local.date()
    try:
        cutoff = d.replace(year=d.year - 2)
    except ValueError:
        cutoff = dt.date(d.year - 2, 2, 28)
    f = {
        k: str(folder / v)
        for k, v in {
            "persons": "persons.parquet",
            "samples": "samples.parquet",
            "results": "results.parquet",
            "communities": "communities.parquet",
            "sites": "sites.csv",
            "labs": "labs.csv",
        }.items()
    }
    con = duckdb.connect()
    q = con.execute
    q(
        f"CREATE TEMP TABLE sc AS SELECT community_code, community_name FROM read_parquet('{f['communities']}') "
        f"WHERE starts_with(community_code, '{SCOPE}')"
    )
    q(f"CREATE TEMP TABLE site AS SELECT site_code FROM read_csv('{f['sites']}', all_varchar = true)")
    q(f"CREATE TEMP TABLE lab AS SELECT lab_code FROM read_csv('{f['labs']}', all_varchar = true)")
    q(
        f"CREATE TEMP TABLE person AS SELECT id_type, id_number, name, phone, community_code, address, tags, "
        f"CAST(birth_date AS DATE) AS birth_date FROM read_parquet('{f['persons']}')"
    )
    # Sample rows: the rules this data needs, then first valid row per (tube, person), pool capacity.
    q(f"""
        CREATE TEMP TABLE s0 AS
        SELECT file_row_number AS pos, trim(round_code) AS round_code, trim(tube_barcode) AS barcode,
               upper(trim(id_number)) AS id_number, coalesce(nullif(lower(trim(id_type)), ''), 'resident_id') AS id_type,
               trim(name) AS name, trim(site_code) AS site_code, trim(box_code) AS box_code,
               TRY_CAST(pool_size AS INTEGER) AS pool_size,
               try_strptime(trim(collected_at), ['%Y-%m-%d %H:%M:%S', '%Y-%m-%d %H:%M']) AS ts
        FROM read_parquet('{f["samples"]}', file_row_number = true)
    """)
    q(f"""
        CREATE TEMP TABLE sv AS
        SELECT pos, barcode, id_number, id_type, name, site_code, box_code, pool_size, ts FROM s0
        WHERE round_code = '{ROUND_CODE}' AND id_type = 'resident_id'
          AND regexp_full_match(id_number, '[0-9]{{17}}[0-9X]')
          AND {_check_digit_sql("id_number")} = id_number[18]
          AND CAST(try_strptime(substr(id_number, 7, 8), '%Y%m%d') AS DATE) <= current_date
          AND site_code IN (SELECT site_code FROM site)
          AND pool_size IN (1, 5, 10, 20) AND ts IS NOT NULL
    """)
    q("""
        CREATE TEMP TABLE acc AS
        WITH d AS (SELECT barcode, arg_min(pool_size, pos) AS d_pool FROM sv GROUP BY barcode),
        f AS (SELECT sv.*, d.d_pool,
                     row_number() OVER (PARTITION BY sv.barcode, sv.id_type, sv.id_number ORDER BY pos) AS occ
              FROM sv JOIN d USING (barcode) WHERE sv.pool_size = d.d_pool)
        SELECT * FROM (SELECT *, row_number() OVER (PARTITION BY barcode ORDER BY pos) AS nth FROM f WHERE occ = 1)
        WHERE nth <= d_pool
    """)
    q("""
        CREATE TEMP TABLE tube AS
        SELECT barcode, arg_min(site_code, pos) AS site_code, arg_min(box_code, pos) AS box_code,
               min(ts) AS first_ts, count(*) AS members
        FROM acc GROUP BY barcode
    """)
    q(f"""
        CREATE TEMP TABLE res AS
        SELECT DISTINCT trim(r.tube_barcode) AS barcode, trim(r.lab_code) AS lab_code, trim(r.result) AS result,
               TRY_CAST(nullif(trim(r.ct_orf1ab), '') AS DOUBLE) AS ct1, TRY_CAST(nullif(trim(r.ct_n), '') AS DOUBLE) AS ct2,
               try_strptime(trim(r.reported_at), ['%Y-%m-%d %H:%M:%S', '%Y-%m-%d %H:%M']) AS ts
        FROM read_parquet('{f["results"]}') r
        WHERE trim(r.lab_code) IN (SELECT lab_code FROM lab)
          AND trim(r.result) IN ('negative', 'positive', 'inconclusive', 'invalid')
          AND try_strptime(trim(r.reported_at), ['%Y-%m-%d %H:%M:%S', '%Y-%m-%d %H:%M']) IS NOT NULL
    """)
    q("""
        CREATE TEMP TABLE teff AS
        SELECT t.*, coalesce(r.n, 0) AS n_results,
               CASE WHEN r.pos OR r.inc THEN 3 WHEN r.neg THEN 2 WHEN r.inv THEN 1 ELSE 0 END AS rank,
               CASE WHEN r.pos THEN 'positive' WHEN r.inc THEN 'inconclusive' ELSE 'invalid' END AS reason
        FROM tube t LEFT JOIN (
            SELECT barcode, count(*) AS n, bool_or(result = 'positive') AS pos, bool_or(result = 'inconclusive') AS inc,
                   bool_or(result = 'negative') AS neg, bool_or(result = 'invalid') AS inv
            FROM res GROUP BY barcode) r USING (barcode)
    """)
    q("""
        CREATE TEMP TABLE pstat AS
        SELECT a.id_type, a.id_number, max(t.rank) AS rank, bool_or(t.rank = 2) AS has_neg
        FROM acc a JOIN teff t USING (barcode) GROUP BY a.id_type, a.id_number
    """)
    q(f"""
        CREATE TEMP TABLE exp AS
        SELECT p.*, coalesce(p.birth_date > DATE '{cutoff.isoformat()}', false) AS exempt, ps.rank
        FROM person p JOIN sc USING (community_code)
        LEFT JOIN pstat ps ON ps.id_type = p.id_type AND ps.id_number = p.id_number
    """)

    def one(sql: str) -> tuple:
        return con.execute(sql).fetchall()[0]

    cov = """
        SELECT substr(sc.community_code, 1, 6) AS county_code, substr(sc.community_code, 1, 9) AS town_code,
               sc.community_code, sc.community_name,
               count(e.id_number) AS expected, count(*) FILTER (WHERE e.exempt) AS exempt,
               count(*) FILTER (WHERE e.rank IS NOT NULL) AS sampled, count(*) FILTER (WHERE e.rank = 2) AS negative,
               count(*) FILTER (WHERE e.rank = 0) AS pending, count(*) FILTER (WHERE e.rank = 1) AS invalid,
               count(*) FILTER (WHERE e.rank = 3) AS abnormal,
               count(*) FILTER (WHERE NOT e.exempt AND e.rank IS NULL) AS untested
        FROM sc LEFT JOIN exp e USING (community_code)
        GROUP BY ALL
    """
    q(f"CREATE TEMP TABLE cov AS {cov}")
    copy = "(HEADER, DELIMITER ',')"
    q(f"""COPY (SELECT *, printf('%.4f', CASE WHEN expected = 0 THEN 0.0
                       ELSE ((sampled * 20000 + expected) // (2 * expected))::DOUBLE / 10000 END) AS coverage
             FROM cov ORDER BY community_code) TO '{out / "coverage.csv"}' {copy}""")
    q(f"""COPY (SELECT community_code, id_type, id_number, nullif(name, '') AS name, nullif(phone, '') AS phone,
                   nullif(address, '') AS address, nullif(tags, '') AS tags
             FROM exp WHERE NOT exempt AND rank IS NULL ORDER BY community_code, id_number)
          TO '{out / "untested.csv"}' {copy}""")
    q(f"""COPY (SELECT a.barcode AS tube_barcode, t.reason, a.id_type, a.id_number,
                   nullif(coalesce(p.name, a.name), '') AS name, nullif(p.phone, '') AS phone,
                   p.community_code, t.site_code, strftime(a.ts, '{TIME_FMT}') AS collected_at
             FROM acc a JOIN teff t USING (barcode)
             JOIN pstat ps ON ps.id_type = a.id_type AND ps.id_number = a.id_number
             LEFT JOIN person p ON p.id_type = a.id_type AND p.id_number = a.id_number
             WHERE t.rank = 3 OR (t.rank = 1 AND NOT ps.has_neg)
             ORDER BY a.barcode, a.id_number, a.id_type) TO '{out / "recheck.csv"}' {copy}""")
    q(f"""COPY (SELECT barcode AS tube_barcode, site_code, nullif(box_code, '') AS box_code,
                   strftime(first_ts, '{TIME_FMT}') AS collected_at, members
             FROM teff WHERE n_results = 0 ORDER BY barcode) TO '{out / "pending_tubes.csv"}' {copy}""")
    totals = one(
        "SELECT sum(expected), sum(exempt), sum(sampled), sum(negative), sum(pending), sum(invalid), "
        "sum(abnormal), sum(untested) FROM cov"
    )
    unreg, out_of_scope = one("""
        SELECT count(*) FILTER (WHERE p.id_number IS NULL),
               count(*) FILTER (WHERE p.id_number IS NOT NULL AND e.id_number IS NULL)
        FROM pstat ps
        LEFT JOIN person p ON p.id_type = ps.id_type AND p.id_number = ps.id_number
        LEFT JOIN exp e ON e.id_type = ps.id_type AND e.id_number = ps.id_number
    """)
    tubes, tubes_abnormal = one("SELECT count(*), count(*) FILTER (WHERE rank = 3) FROM teff")
    (held,) = one("SELECT count(*) FROM res WHERE barcode NOT IN (SELECT barcode FROM tube)")
    con.close()
    keys = ["expected", "exempt", "sampled", "negative", "pending", "invalid", "abnormal", "untested"]
    summary = {"round": ROUND_CODE, **{k: int(v or 0) for k, v in zip(keys, totals, strict=True)}}
    summary.update(
        sampled_unregistered=int(unreg),
        sampled_out_of_scope=int(out_of_scope),
        tubes=int(tubes),
        tubes_abnormal=int(tubes_abnormal),
        results_held=int(held),
    )
    order = [
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
    summary = {k: summary[k] for k in order}
    (out / "summary.json").write_text(
        json.dumps(summary, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    return summary


def compare_reports(product: Path, baseline: Path) -> list[str]:
    """Byte-for-byte comparison of the four CSV files; a line per difference found."""
    problems = []
    for name in ("coverage.csv", "untested.csv", "recheck.csv", "pending_tubes.csv"):
        a = (product / name).read_bytes().splitlines()
        b = (baseline / name).read_bytes().splitlines()
        if a == b:
            continue
        diff = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))
        shown = [lines[diff].decode() if diff < len(lines) else "<end of file>" for lines in (a, b)]
        problems.append(
            f"{name}: {len(a)} vs {len(b)} lines; first difference at line {diff + 1}:\n"
            f"    product : {shown[0]}\n    baseline: {shown[1]}"
        )
    return problems


# ---------------------------------------------------------------------------------------------
# The timed imports, with a fallback when the whole file cannot be imported


def timed_import(kind: str, path: Path, timer: Timer, notes: dict, chunk_rows: int):
    """``import_file`` of the whole file, timed as ``import_<kind>``.

    If the product cannot import the file in one go (a database error), the failure and its time
    are recorded in ``notes`` and the same rows are imported again as consecutive files of
    ``chunk_rows`` rows (as a lab or a sampling app posting batches), timed as the phase instead.
    """
    import time

    import pyarrow.csv as pacsv
    from django.db import DatabaseError

    from lianfang.core.reader import read_table
    from lianfang.core.summary import ImportSummary
    from lianfang.imports.services import import_file

    phase = f"import_{kind}"
    started = time.perf_counter()
    try:
        with timer.phase(phase):
            summary = import_file(kind=kind, path=path, actor=None)
        notes[phase] = "one file"
        return summary
    except DatabaseError as exc:
        took = time.perf_counter() - started
        message = str(exc).splitlines()[0][:200]
        print(
            f"  FAILED   {phase} as one file after {took:.1f} s: {type(exc).__name__}: {message}",
            file=sys.stderr,
        )
        notes[f"{phase}_failed"] = {"seconds": round(took, 3), "error": f"{type(exc).__name__}: {message}"}
    table = read_table(path)
    folder = path.parent / f"{kind}-chunks"
    folder.mkdir(exist_ok=True)
    paths = []
    for i, start in enumerate(range(0, table.num_rows, chunk_rows)):
        paths.append(folder / f"{kind}-{i:05d}.csv")
        pacsv.write_csv(table.slice(start, chunk_rows), paths[-1])
    del table
    total = ImportSummary()
    with timer.phase(phase):
        for chunk in paths:
            part = import_file(kind=kind, path=chunk, actor=None)
            total.read += part.read
            total.accepted += part.accepted
            total.duplicate += part.duplicate
            total.held += part.held
            total.rejected += part.rejected
            total.reasons.update(part.reasons)
    notes[phase] = f"{len(paths)} files of {chunk_rows} rows"
    return total


def setup_child(folder: Path, persons: int, seed: int) -> None:
    """Set-up in a child process: generate the city, write its files, load the registry. Prints one
    JSON line: the file counts, the phases' times and the child's peak RSS."""
    import django

    django.setup()
    from lianfang.imports.services import import_file
    from lianfang.simulate.generator import generate_population

    timer = Timer()
    with timer.phase("generate"):
        pop = generate_population(persons, seed=seed)
    with timer.phase("write_files"):
        made = write_files(pop, folder, seed)
    del pop
    print("  files    " + ", ".join(f"{k} {v:,}" for k, v in made.items()), file=sys.stderr)
    with timer.phase("load_persons"):
        loaded = import_file(kind="persons", path=folder / "persons.csv", actor=None)
    assert loaded.accepted == persons, loaded
    print(json.dumps({"made": made, "phases": timer.phases, "peak_rss_mb": peak_rss_mb()}))


def empty_screening() -> None:
    """Back to the state right after the set-up's registry load (``--reuse``): no round, no
    screening rows, no unregistered people; the audit log keeps its events."""
    from django.db import connection, transaction

    from lianfang.people.models import Person
    from lianfang.screening import models as m

    order = (
        m.PositiveFinding, m.PoolAlert, m.RecheckTask, m.Sample, m.Result, m.Box, m.Tube,
        m.Device, m.RoundScope, m.Round, m.Site, m.Lab,
    )  # fmt: skip
    with transaction.atomic(), connection.cursor() as cursor:
        for model in order:
            cursor.execute(f"DELETE FROM {model._meta.db_table}")
        cursor.execute(f"DELETE FROM {Person._meta.db_table} WHERE NOT registered")
        for name in ("bench_raw_samples", "bench_raw_results"):
            cursor.execute(f"DROP TABLE IF EXISTS {name}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--persons", type=int, default=10_000_000)
    parser.add_argument("--seed", type=int, default=2022)
    parser.add_argument("--db", default="sqlite", help="'sqlite' or a PostgreSQL URL")
    parser.add_argument(
        "--chunk-rows",
        type=int,
        default=3_000,
        help="rows per file when a whole-file import fails and is retried in batches",
    )
    parser.add_argument("--profile", help="write cProfile stats of the three timed phases to this file")
    parser.add_argument(
        "--reuse",
        metavar="DIR",
        help="the files folder of an earlier run at the same scale, seed and database: its registry "
        "is kept (SQLite: the database folder its setup.json names) and the set-up skipped; the "
        "screening tables and unregistered people are emptied first",
    )
    parser.add_argument("--setup-only", metavar="DIR", help=argparse.SUPPRESS)  # the set-up child
    parser.add_argument("--empty-only", action="store_true", help=argparse.SUPPRESS)  # --reuse's child
    args = parser.parse_args()

    # Measure what production runs: Django's debug cursor (on by default outside production) logs
    # and formats every statement. LIANFANG_DEBUG=1 in the environment turns it back on.
    os.environ.setdefault("LIANFANG_DEBUG", "0")
    if args.setup_only:
        setup_child(Path(args.setup_only), args.persons, args.seed)
        return
    if args.empty_only:  # the parent has pointed the environment at the database
        import django

        django.setup()
        empty_screening()
        return
    reused = json.loads((Path(args.reuse) / "setup.json").read_text()) if args.reuse else None
    if reused and (reused["persons"], reused["seed"], reused["db"]) != (args.persons, args.seed, args.db):
        raise SystemExit(f"--reuse: {args.reuse} was set up for {reused}, not for this run")
    db = prepare_database(args.db, "bench_screening", reuse_dir=reused and (reused["data_dir"] or "kept"))
    from lianfang.core.times import SHANGHAI
    from lianfang.imports.services import import_file
    from lianfang.screening.report import round_report_write
    from lianfang.screening.services import round_open

    timer = Timer()
    folder = Path(args.reuse) if args.reuse else Path(tempfile.mkdtemp(prefix="bench-screening-"))
    print(f"screening: {args.persons:,} people on {db}, files in {folder}", file=sys.stderr)
    if reused:
        setup = reused["setup"]
        # Deleting millions of rows leaves the process holding gigabytes: done in a child, so the
        # phases' peak is their own. The database keeps the freed pages (no VACUUM), which the
        # imports then reuse: times can differ a little from a run on a fresh registry.
        subprocess.run([sys.executable, __file__, "--empty-only"], check=True)
        print(
            "  reused   the registry and files of an earlier run (set-up times are that run's)",
            file=sys.stderr,
        )
    else:
        # Generating the city and loading its registry leave gigabytes of freed-but-kept memory
        # in a process at 10 M people: they run in a child process (same database, same
        # environment), so the peak measured here is the screening phases' own.
        child = subprocess.run(
            [
                *(sys.executable, __file__, "--setup-only", str(folder)),
                *("--persons", str(args.persons), "--seed", str(args.seed)),
            ],
            stdout=subprocess.PIPE,
            check=True,
            text=True,
        )
        setup = json.loads(child.stdout.strip().splitlines()[-1])
        (folder / "setup.json").write_text(
            json.dumps(
                {
                    "persons": args.persons,
                    "seed": args.seed,
                    "db": args.db,
                    "data_dir": os.environ.get("LIANFANG_DATA_DIR"),
                    "setup": setup,
                }
            )
        )
    made = setup["made"]
    for name, seconds in setup["phases"].items():
        timer.phases[name] = seconds
    setup_peak = setup["peak_rss_mb"]
    start = dt.datetime.combine(DAY, dt.time(6), tzinfo=SHANGHAI)
    with timer.phase("open_round"):
        rnd = round_open(
            actor=None, code=ROUND_CODE, name="泉州市全员核酸检测 2022-03-28", scope=[SCOPE], starts_at=start
        )
    with timer.phase("import_sites_labs"):
        sites = import_file(kind="sites", path=folder / "sites.csv", actor=None)
        labs = import_file(kind="labs", path=folder / "labs.csv", actor=None)
    assert sites.accepted == made["sites"] and labs.accepted == LABS, (sites, labs)

    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    notes: dict = {}
    phase_peak: dict[str, float] = {}
    phase_start: dict[str, float] = {"import_samples": rss_mb()}
    hwm_reset()
    samples = timed_import("samples", folder / "samples.csv", timer, notes, args.chunk_rows)
    phase_peak["import_samples"] = hwm_mb()
    print(f"  samples  {samples.as_dict()}", file=sys.stderr)
    phase_start["import_results"] = rss_mb()
    hwm_reset()
    results = timed_import("results", folder / "results.csv", timer, notes, args.chunk_rows)
    phase_peak["import_results"] = hwm_mb()
    print(f"  results  {results.as_dict()}", file=sys.stderr)
    phase_start["round_report"] = rss_mb()
    hwm_reset()
    with timer.phase("round_report"):
        product = round_report_write(rnd=rnd, out_dir=folder / "report")
    phase_peak["round_report"] = hwm_mb()
    screening_peak = max(phase_peak.values())
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(args.profile)
    assert samples.read == made["sample_rows"] and results.read == made["result_rows"]

    with timer.phase("raw_load", baseline=True):
        loaded = raw_load(folder)
    assert loaded == made["sample_rows"] + made["result_rows"], loaded
    with timer.phase("duckdb_report", baseline=True):
        base = duckdb_report(folder, folder / "baseline", start=start)

    mine = json.loads((folder / "report" / "summary.json").read_text(encoding="utf-8"))
    assert mine == product.summary
    if mine != base:
        lines = [
            f"    {k}: product {mine.get(k)!r} != baseline {base.get(k)!r}"
            for k in mine
            if mine.get(k) != base.get(k)
        ]
        print("  MISMATCH summary.json (product vs DuckDB baseline):\n" + "\n".join(lines), file=sys.stderr)
        raise SystemExit(1)
    print(f"  summary  {json.dumps(mine, ensure_ascii=False)}  (= baseline)", file=sys.stderr)
    problems = compare_reports(folder / "report", folder / "baseline")
    for p in problems:
        print(f"  MISMATCH {p}", file=sys.stderr)
    if not problems:
        print(
            "  files    coverage, untested, recheck, pending_tubes identical to the baseline's",
            file=sys.stderr,
        )

    ph, bl = timer.phases, timer.baseline
    ratio = {
        "ingest": round((ph["import_samples"] + ph["import_results"]) / bl["raw_load"], 2),
        "report": round(ph["round_report"] / bl["duckdb_report"], 2),
    }
    goals = {"ingest": 4.0, "report": 3.0}
    for k, v in ratio.items():
        print(
            f"  ratio    {k:<28} {v:8.2f} ×  (goal ≤ {goals[k]:g}×) {'ok' if v <= goals[k] else 'OVER'}",
            file=sys.stderr,
        )
    out = {
        "bench": "screening",
        "scale": args.persons,
        "db": db,
        "phases": ph,
        "baseline": bl,
        "ratio": ratio,
        "peak_rss_mb": whole_run_peak_mb(),
        "peak_rss_setup_child_mb": setup_peak,
        "peak_rss_screening_mb": screening_peak,
        "peak_rss_phase_mb": phase_peak,
        "rss_at_phase_start_mb": phase_start,
        "files": made,
        "files_identical": not problems,
        "imports": notes,
    }
    print(
        f"  peak RSS {out['peak_rss_mb']:.0f} MB whole run, {screening_peak:.0f} MB during the timed phases "
        f"(goal ≤ 4096 MB; {', '.join(f'{k} {v:.0f}' for k, v in phase_peak.items())})",
        file=sys.stderr,
    )
    print(json.dumps(out))


if __name__ == "__main__":
    main()
