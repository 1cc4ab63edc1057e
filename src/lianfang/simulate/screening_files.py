"""The input files of a city-wide screening round, simulated for a population (``bench/screening.py``).

:func:`write_files` takes a table from :func:`~lianfang.simulate.generator.generate_population`
and writes, with NumPy / PyArrow only (no Django, no Python loop per row), deterministic for a seed:

* ``persons.csv`` — the registry; ``labs.csv`` — 10 labs; ``sites.csv`` — one site per ~2,500
  people, in real communities in proportion to their population (people of a community without
  a site go to one in their town, else county).
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
* Parquet copies of persons, samples and results, and ``communities.parquet`` (every community's
  code and name), for a baseline that reads them directly.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from lianfang.simulate.arrays import (
    int_str,
    join,
    largest_remainder,
    replace_at,
    resident_ids,
    take,
    times,
    ymd,
)
from lianfang.simulate.divisions import Divisions, default_divisions
from lianfang.simulate.generator import DEFAULT_TODAY
from lianfang.simulate.names import VISITOR_GIVEN, VISITOR_PREFIXES, VISITOR_SURNAMES

__all__ = ["DAY", "LABS", "PERSON_COLUMNS", "ROUND_CODE", "write_files"]

ROUND_CODE = "QZ-2022-0328"
DAY = DEFAULT_TODAY  # the round's day: the day the population's ages are counted on
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

PERSON_COLUMNS = ["id_type", "id_number", "name", "phone", "community_code", "address", "birth_date", "tags"]
RESULTS = ["negative", "positive", "inconclusive", "invalid"]  # the result codes 0-3 below


def write_files(pop: pa.Table, out: Path, seed: int, *, divisions: Divisions | None = None) -> dict[str, int]:
    """Write every input file of the round into ``out``; returns the counts the simulator knows."""
    # The steps draw from one generator in this order: reordering them changes every file.
    rng = np.random.default_rng(seed + 7)
    div = divisions if divisions is not None else default_divisions()
    comm_codes = pa.array(div.community_code.astype(str), pa.string())
    comm_of = pc.index_in(pop.column("community_code"), value_set=comm_codes).to_numpy()
    assert (comm_of >= 0).all()
    _write_registry(pop, div, comm_codes, out)

    sites = _sites(rng, div, comm_of)
    _write(sites.table, out, "sites", parquet=False)
    _write(_labs(), out, "labs", parquet=False)
    ent_site, ent_id, ent_name, n_vis = _entrants(rng, pop, _person_sites(pop, comm_of, sites), sites.n)
    pools = _pools(rng, ent_site, sites)
    samples, n_dup, n_bad = _samples(rng, pools, ent_id, ent_name, sites)
    _write(samples, out, "samples")
    n_rows = samples.num_rows
    del samples
    results, n_held = _results(rng, pools)
    _write(results, out, "results")
    return {
        "persons": pop.num_rows,
        "communities": len(div.community_code),
        "sites": sites.n,
        "labs": LABS,
        "visitors": n_vis,
        "pools": pools.n,
        "sample_rows": n_rows,
        "duplicate_rows": n_dup,
        "bad_rows": n_bad,
        "late_pools": int(pools.late.sum()),
        "result_rows": results.num_rows,
        "held_tubes": n_held,
    }


def _day_seconds(hour: int) -> int:
    """Seconds since the epoch of ``hour``:00 on the round's day, Shanghai wall-clock time (naive)."""
    return int(dt.datetime.combine(DAY, dt.time(hour), tzinfo=dt.UTC).timestamp())


def _write(table: pa.Table, out: Path, stem: str, *, parquet: bool = True) -> None:
    """``stem``.csv (the product's input), and ``stem``.parquet (a baseline's) unless told not to."""
    pacsv.write_csv(table, out / f"{stem}.csv")
    if parquet:
        pq.write_table(table, out / f"{stem}.parquet")


def _write_registry(pop: pa.Table, div: Divisions, comm_codes: pa.Array, out: Path) -> None:
    """The registry (CSV for the import, Parquet for a baseline) and the community list."""
    _write(pop.select(PERSON_COLUMNS), out, "persons")
    pq.write_table(
        pa.table({"community_code": comm_codes, "community_name": pa.array(div.community_name.astype(str))}),
        out / "communities.parquet",
    )


def _labs() -> pa.Table:
    return pa.table(
        {
            "lab_code": join(pa.scalar("LAB"), int_str(np.arange(1, LABS + 1), 2)),
            "name": join(pa.scalar("泉州检测机构"), int_str(np.arange(1, LABS + 1))),
            "daily_capacity": int_str(np.full(LABS, 200_000)),
        }
    )


# --------------------------------------------------------------------------------------------------
# Sites, and who is sampled where


@dataclass(frozen=True)
class _Sites:
    table: pa.Table  # sites.csv, sites numbered community after community
    per_comm: np.ndarray  # sites in each community
    first: np.ndarray  # each community's first site
    host: np.ndarray  # the community whose sites serve each community's people

    @property
    def n(self) -> int:
        return self.table.num_rows

    @property
    def code(self) -> pa.Array:
        return self.table.column("site_code").combine_chunks()


def _sites(rng: np.random.Generator, div: Divisions, comm_of: np.ndarray) -> _Sites:
    """One site per ~2,500 people, per county then per community in proportion to their people."""
    nc = len(div.community_code)
    people_per_comm = np.bincount(comm_of, minlength=nc)
    n_sites = max(1, round(len(comm_of) / PEOPLE_PER_SITE))
    county_people = np.bincount(div.community_county, weights=people_per_comm, minlength=len(div.county_code))
    per_comm = np.zeros(nc, dtype=np.int64)
    for k, k_sites in enumerate(largest_remainder(n_sites, county_people)):
        if k_sites:
            idx = np.flatnonzero(div.community_county == k)
            per_comm[idx] = largest_remainder(int(k_sites), people_per_comm[idx])
    first = np.concatenate([[0], np.cumsum(per_comm)[:-1]])
    site_comm = np.repeat(np.arange(nc), per_comm)
    serial = np.arange(n_sites) - first[site_comm] + 1
    comm_code = take(div.community_code.astype(str), site_comm)
    place = np.array(
        [s[:-3] if s.endswith(("居委会", "村委会")) else s for s in div.community_name.astype(str)]
    )
    table = pa.table(
        {
            "site_code": join(pa.scalar("S"), comm_code, int_str(serial, 2)),
            "name": join(pa.array(place[site_comm]), pa.scalar("核酸采样点"), int_str(serial)),
            "community_code": comm_code,
            "desks": int_str(rng.integers(2, 9, n_sites)),
        }
    )
    return _Sites(table=table, per_comm=per_comm, first=first, host=_host_communities(div, per_comm))


def _host_communities(div: Divisions, per_comm: np.ndarray) -> np.ndarray:
    """Each community itself if it has a site, else the community with most sites in its town,
    else in its county, else in the city."""
    host = np.arange(len(per_comm))
    has = per_comm > 0
    for c in np.flatnonzero(~has):
        for same in (
            div.community_town == div.community_town[c],
            div.community_county == div.community_county[c],
        ):
            cand = np.flatnonzero(same & has)
            if len(cand):
                host[c] = cand[np.argmax(per_comm[cand])]
                break
        else:
            host[c] = int(np.argmax(per_comm))
    return host


def _person_sites(pop: pa.Table, comm_of: np.ndarray, sites: _Sites) -> np.ndarray:
    """Each registered person's site: households stay together at their community's (host's) sites."""
    n = pop.num_rows
    hh = pop.column("household")
    new_hh = pc.not_equal(hh.slice(1), hh.slice(0, n - 1)).to_numpy(zero_copy_only=False)
    hh_of = np.concatenate([[0], np.cumsum(new_hh)]) if n else np.zeros(0, np.int64)
    h = sites.host[comm_of]
    return sites.first[h] + (hh_of * 2_654_435_761 % 2**32) % sites.per_comm[h]


def _entrants(
    rng: np.random.Generator, pop: pa.Table, person_site: np.ndarray, n_sites: int
) -> tuple[np.ndarray, pa.Array, pa.Array, int]:
    """Who comes to be sampled (most registered people, then visitors): sites, IDs, names, visitors."""
    sampled = np.flatnonzero(rng.random(pop.num_rows) < SAMPLED_SHARE)
    vis_id, vis_name = _visitors(rng, pop.num_rows, pop.column("id_number"))
    ent_site = np.concatenate([person_site[sampled], rng.integers(0, n_sites, len(vis_id))])
    ent_id = pa.chunked_array([pc.take(pop.column("id_number"), pa.array(sampled)), vis_id]).combine_chunks()
    ent_name = pa.chunked_array([pc.take(pop.column("name"), pa.array(sampled)), vis_name]).combine_chunks()
    return ent_site, ent_id, ent_name, len(vis_id)


def _visitors(rng: np.random.Generator, n: int, registered: pa.ChunkedArray) -> tuple[pa.Array, pa.Array]:
    """~0.2 % of ``n`` people from other provinces, born 1965-1999: valid IDs not in ``registered``."""
    n_vis = int(round(n * VISITOR_SHARE))
    vis_birth = np.datetime64("1965-01-01") + rng.integers(0, 35 * 365, n_vis)
    vis_key = (
        VISITOR_PREFIXES[rng.integers(0, len(VISITOR_PREFIXES), n_vis)] * 10**11
        + ymd(vis_birth) * 1000
        + rng.integers(0, 1000, n_vis)
    )
    vis_id = resident_ids(np.unique(vis_key))
    vis_id = vis_id.filter(pc.invert(pc.is_in(vis_id, value_set=registered)))
    n_vis = len(vis_id)
    vis_name = join(
        take(list(VISITOR_SURNAMES), rng.integers(0, len(VISITOR_SURNAMES), n_vis)),
        take(list(VISITOR_GIVEN), rng.integers(0, len(VISITOR_GIVEN), n_vis)),
    )
    return vis_id, vis_name


# --------------------------------------------------------------------------------------------------
# Pools and samples.csv


@dataclass(frozen=True)
class _Pools:
    order: np.ndarray  # entrants in sampling order (by site)
    e_site: np.ndarray  # the site of each entrant, in that order
    pool_of: np.ndarray  # the pool of each entrant, in that order
    late: np.ndarray  # each pool: collected in the evening
    time: np.ndarray  # each pool's collection time (naive Shanghai seconds)
    row_time: np.ndarray  # each entrant's sample time, in sampling order
    barcode: pa.Array  # each pool's tube barcode
    box: pa.Array  # each pool's transport box

    @property
    def n(self) -> int:
        return len(self.time)


def _pools(rng: np.random.Generator, ent_site: np.ndarray, sites: _Sites) -> _Pools:
    """10-person pools at each site, in sampling order; pools spread over 07:00-19:00, late ones
    in the evening."""
    n_ent = len(ent_site)
    order = np.argsort(ent_site, kind="stable")
    e_site = ent_site[order]
    site_start = np.searchsorted(e_site, np.arange(sites.n))
    rank = np.arange(n_ent) - site_start[e_site]
    member = rank % POOL
    pool_local = rank // POOL
    pool_of = np.cumsum(member == 0) - 1
    n_pools = int(pool_of[-1]) + 1
    pools_at_site = (np.bincount(e_site, minlength=sites.n) + POOL - 1) // POOL
    pool_site = e_site[member == 0]
    pool_local_of = pool_local[member == 0]
    pool_time = _day_seconds(7) + (pool_local_of * 43_200 // np.maximum(pools_at_site[pool_site], 1))
    late = rng.random(n_pools) < LATE_POOL_SHARE
    pool_time = np.where(late, _day_seconds(19) + rng.integers(0, 3 * 3600, n_pools), pool_time)
    return _Pools(
        order=order,
        e_site=e_site,
        pool_of=pool_of,
        late=late,
        time=pool_time,
        row_time=pool_time[pool_of] + member * 15 + rng.integers(0, 10, n_ent),
        barcode=join(pa.scalar("QZ"), int_str(np.arange(n_pools) + 10**9, 10)),
        box=join(pc.take(sites.code, pa.array(pool_site)), pa.scalar("-B"), int_str(pool_local_of // 20, 3)),
    )


def _samples(
    rng: np.random.Generator, pools: _Pools, ent_id: pa.Array, ent_name: pa.Array, sites: _Sites
) -> tuple[pa.Table, int, int]:
    """samples.csv: pools in sampling order, late pools at the end, resent rows somewhere after
    their original, a few bad rows. Returns the table and the numbers of resent and bad rows."""
    n_ent = len(pools.order)
    pos_key = np.where(pools.late[pools.pool_of], n_ent + np.arange(n_ent), np.arange(n_ent)).astype(
        np.float64
    )
    dup = np.flatnonzero(rng.random(n_ent) < DUPLICATE_ROW_SHARE)
    src = np.concatenate([np.arange(n_ent), dup])
    key = np.concatenate([pos_key, pos_key[dup] + rng.uniform(0.5, 5_000, len(dup))])
    when = np.concatenate([pools.row_time, pools.row_time[dup] + rng.integers(30, 121, len(dup))])
    fo = np.argsort(key, kind="stable")
    src, when = src[fo], when[fo]
    n_rows = len(src)
    ent_take = pa.array(pools.order[src])
    rows = {
        "round_code": pa.array(np.full(n_rows, ROUND_CODE)),
        "tube_barcode": pc.take(pools.barcode, pa.array(pools.pool_of[src])),
        "pool_size": pa.array(np.full(n_rows, str(POOL))),
        "id_type": pa.array(np.full(n_rows, "resident_id")),
        "id_number": pc.take(ent_id, ent_take),
        "name": pc.take(ent_name, ent_take),
        "site_code": pc.take(sites.code, pa.array(pools.e_site[src])),
        "collected_at": times(when),
        "box_code": pc.take(pools.box, pa.array(pools.pool_of[src])),
    }
    n_bad = _spoil(rng, rows)
    return pa.table(rows), len(dup), n_bad


def _spoil(rng: np.random.Generator, rows: dict[str, pa.Array]) -> int:
    """Bad rows, in place: a wrong ID check digit, an unknown site, a date with no time."""
    bad = np.flatnonzero(rng.random(len(rows["id_number"])) < BAD_ROW_SHARE)
    kind = rng.integers(0, 3, len(bad))
    ids = pc.take(rows["id_number"], pa.array(bad, pa.int64())).to_pylist()
    wrong = pa.array([s[:17] + ("0" if s[17] in "X9" else str(int(s[17]) + 1)) for s in ids], pa.string())
    rows["id_number"] = replace_at(rows["id_number"], bad[kind == 0], pc.filter(wrong, pa.array(kind == 0)))
    rows["site_code"] = replace_at(
        rows["site_code"], bad[kind == 1], pa.array(["S-UNKNOWN"] * int((kind == 1).sum()))
    )
    rows["collected_at"] = replace_at(
        rows["collected_at"], bad[kind == 2], pa.array([DAY.isoformat()] * int((kind == 2).sum()))
    )
    return len(bad)


# --------------------------------------------------------------------------------------------------
# results.csv


def _results(rng: np.random.Generator, pools: _Pools) -> tuple[pa.Table, int]:
    """One result per pool but the pending late ones, re-runs, resent rows and held tubes (results
    for barcodes no sample names). Returns the table and the number of held tubes."""
    n_pools = pools.n
    tube, result, when, lab_of, n_held = _result_rows(rng, pools)
    # (a resent row repeats its original exactly: the Ct values are drawn per tube and result)
    ct_tube = np.round(rng.uniform(22, 35, n_pools + n_held), 2)
    ct1 = np.where(result == 1, ct_tube[tube], np.where(result == 2, 38.5, np.nan))
    ct2 = np.where(result == 1, np.round(ct_tube[tube] + 1.25, 2), np.nan)
    ro = np.argsort(when, kind="stable")
    tube, result, when, ct1, ct2 = (a[ro] for a in (tube, result, when, ct1, ct2))
    all_barcodes = pa.chunked_array(
        [pools.barcode, join(pa.scalar("QZ"), int_str(np.arange(n_held) + 9 * 10**9, 10))]
    ).combine_chunks()
    table = pa.table(
        {
            "tube_barcode": pc.take(all_barcodes, pa.array(tube)),
            "lab_code": join(pa.scalar("LAB"), int_str(lab_of[tube], 2)),
            "result": take(RESULTS, result),
            "ct_orf1ab": pc.fill_null(pc.cast(pa.array(ct1, from_pandas=True), pa.string()), ""),
            "ct_n": pc.fill_null(pc.cast(pa.array(ct2, from_pandas=True), pa.string()), ""),
            "reported_at": times(when),
        }
    )
    return table, n_held


def _result_rows(rng: np.random.Generator, pools: _Pools) -> tuple[np.ndarray, ...]:
    """The result rows, unsorted: tube index (held tubes after the pools), result code (index
    into RESULTS), report time; and each tube's lab number and the number of held tubes."""
    n_pools = pools.n
    pending = pools.late & (rng.random(n_pools) < LATE_PENDING_SHARE)
    u = rng.random(n_pools)
    shares = np.cumsum([POSITIVE_SHARE, INCONCLUSIVE_SHARE, INVALID_SHARE])
    outcome = np.select([u < shares[0], u < shares[1], u < shares[2]], [1, 2, 3], 0)
    n_held = max(1, int(round(n_pools * HELD_SHARE)))
    first = np.flatnonzero(~pending)
    lab_of = rng.integers(1, LABS + 1, n_pools + n_held)
    report_time = np.concatenate(
        [
            pools.time + rng.integers(4 * 3600, 10 * 3600, n_pools),
            _day_seconds(12) + rng.integers(0, 8 * 3600, n_held),
        ]
    )
    # rerun 1: inconclusive pools → positive/negative; invalid pools (60 %) → negative.
    rerun = np.flatnonzero(
        ~pending & ((outcome == 2) | ((outcome == 3) & (rng.random(n_pools) < INVALID_RERUN_SHARE)))
    )
    rerun_result = np.where(outcome[rerun] == 2, np.where(rng.random(len(rerun)) < 0.5, 1, 0), 0)
    tube = np.concatenate([first, rerun, n_pools + np.arange(n_held)])
    result = np.concatenate([outcome[first], rerun_result, np.zeros(n_held, np.int64)])
    when = np.concatenate([report_time[first], report_time[rerun] + 2 * 3600, report_time[n_pools:]])
    resent = np.flatnonzero(rng.random(len(tube)) < RESULT_RESENT_SHARE)
    tube, result, when = (np.concatenate([a, a[resent]]) for a in (tube, result, when))
    return tube, result, when, lab_of, n_held
