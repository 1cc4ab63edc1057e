"""A synthetic, deterministic population of Quanzhou (泉州) for demos, tests and benchmarks.

Pure NumPy + PyArrow + stdlib: nothing here imports Django, so benchmarks and analytics can use it
without settings. Everything is drawn from one ``numpy.random.default_rng(seed)`` in a fixed order,
so the same ``n``, ``seed`` and ``today`` give the same table, row for row.

How the city is built, all vectorised (the only Python loops run over counties and communities):

1. People per county in proportion to the 2021 resident counts shipped in
   ``lianfang/geo/data/quanzhou-population.csv`` (largest-remainder rounding, so exact); 金门 has 0.
2. Within a county, people spread over communities with lognormal town × community weights (urban
   居委会 heavier, industrial-park "虚拟社区" and farm "生活区" light), so a few communities are big.
3. One global sequence of household sizes (1–6, mean ≈ 2.75) is laid over the people; the community
   boundaries are snapped to household boundaries, so households never straddle two communities.
4. Each community gets dwellings: urban compounds (小区) with buildings, units, floors and rooms, or
   village groups (组) with house numbers; households draw distinct dwellings without replacement
   (:mod:`lianfang.simulate.dwellings`).
5. Ages follow the 2020 census (0–14 20.62 %, 15–59 66.17 %, 60+ 13.21 %, 65+ 9.00 %); household
   heads are adults and the other members are drawn so that the overall shares still match.
6. Resident IDs (GB 11643-1999) from the county (or, for ~10 % of households, another real region
   prefix), the birth date and a sex-parity sequence; collisions are re-drawn until none remain.
7. Names, phones and care tags (bedridden, elderly living alone, ...).

Each step is a function below, called by :func:`generate_population`; the data tables are in
:mod:`lianfang.simulate.names`, the column helpers in :mod:`lianfang.simulate.arrays`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from lianfang.simulate.arrays import (
    digits_to_strings,
    draw,
    join,
    largest_remainder,
    resident_ids,
    take,
    unique_redraw,
    ymd,
)
from lianfang.simulate.divisions import Divisions, default_divisions, load_divisions, short_community_name
from lianfang.simulate.dwellings import household_homes
from lianfang.simulate.names import (
    GIVEN_FEMALE,
    GIVEN_MALE,
    OTHER_PREFIXES,
    PHONE_PREFIX_W,
    PHONE_PREFIXES,
    SURNAMES,
)

__all__ = [
    "DEFAULT_TODAY",
    "TAGS",
    "Divisions",
    "census_age_distribution",
    "generate_population",
    "load_divisions",
    "short_community_name",
]

DEFAULT_TODAY = dt.date(2022, 3, 28)
"""The seed article's date: the demo city is the same every time, whatever the real clock says."""

TAGS = ("bedridden", "elderly_alone", "infant", "pregnant", "dialysis", "disabled")

MALE_SHARE = 0.5222
MAX_AGE = 100

# Household sizes 1..6 (mean 2.75; Quanzhou's 2020 census average is about 2.7–2.8).
HOUSEHOLD_SIZE_P = np.array([0.24, 0.26, 0.21, 0.15, 0.08, 0.06])

MIGRANT_HOUSEHOLD_SHARE = 0.10
TWO_CHAR_GIVEN_SHARE = 0.8


def generate_population(
    n: int,
    *,
    seed: int = 2022,
    today: dt.date | None = None,
    divisions: Divisions | None = None,
) -> pa.Table:
    """``n`` synthetic residents of Quanzhou as an Arrow table, one row per person.

    Rows come grouped by community and household. Deterministic for a given ``n``, ``seed`` and
    ``today`` (default :data:`DEFAULT_TODAY`, not the real clock).
    """
    n = int(n)
    if n < 0:
        raise ValueError("n must be non-negative")
    today = today or DEFAULT_TODAY
    div = divisions if divisions is not None else default_divisions()
    # The steps draw from one generator in this order: reordering them changes every column.
    rng = np.random.default_rng(seed)
    hh = _households(rng, n, _people_per_community(rng, div, n))
    homes = household_homes(rng, div, hh.community)
    age = _ages(rng, n, hh)
    birth = _birth_dates(rng, age, today)
    male = rng.random(n) < MALE_SHARE
    hh_prefix, migrant_hh = _origins(rng, div, hh)
    name = _names(rng, hh, migrant_hh, male)
    id_number = _id_numbers(rng, hh_prefix[hh.of], birth, male)
    phone = _phones(rng, n)
    tags = _tags(rng, age, male, hh.sizes[hh.of])

    comm_of = hh.community[hh.of]
    hh_idx = pa.array(hh.of)
    return pa.table(
        {
            "id_type": take(["resident_id"], np.zeros(n, dtype=np.int8)),
            "id_number": id_number,
            "name": name,
            "phone": phone,
            "community_code": take(div.community_code, comm_of),
            "town_code": take(div.town_code[div.community_town], comm_of),
            "county_code": take(div.county_code[div.community_county], comm_of),
            "address": pc.take(homes.address, hh_idx),
            "compound": pc.take(homes.compound, hh_idx),
            "building": pc.take(homes.building, hh_idx),
            "household": pc.take(homes.code, hh_idx),
            "birth_date": pa.array(birth.astype("datetime64[D]"), type=pa.date32()),
            "sex": take(["F", "M"], male.astype(np.int8)),
            "tags": tags,
        }
    )


# --------------------------------------------------------------------------------------------------
# Distributions


def census_age_distribution() -> np.ndarray:
    """P(age = a) for a in 0..MAX_AGE, matching the 2020 census band shares exactly."""
    ages = np.arange(MAX_AGE + 1)
    w = np.zeros(MAX_AGE + 1)

    def band(lo: int, hi: int, share: float, shape: np.ndarray) -> None:
        w[lo : hi + 1] = share * shape / shape.sum()

    child = np.ones(15)
    child[:3] = [0.8, 0.9, 0.95]  # fewer births in 2019–2021
    band(0, 14, 0.2062, child)
    working = np.interp(np.arange(15, 60), [15, 20, 25, 45, 55, 59], [0.8, 0.95, 1.15, 1.0, 0.85, 0.8])
    band(15, 59, 0.6617, working)
    band(60, 64, 0.1321 - 0.0900, np.ones(5))
    old = ages[65:]
    band(65, MAX_AGE, 0.0900, np.exp(-0.06 * (old - 65) - 0.15 * np.clip(old - 80, 0, None)))
    return w


def _head_distribution(target: np.ndarray) -> np.ndarray:
    headship = np.interp(np.arange(MAX_AGE + 1), [19, 20, 25, 30], [0.0, 0.3, 0.6, 1.0])
    headship[:20] = 0.0
    h = target * headship
    return h / h.sum()


def _years_before(d: dt.date, years: int) -> dt.date:
    try:
        return d.replace(year=d.year - years)
    except ValueError:  # 29 February
        return d.replace(year=d.year - years, day=28)


# --------------------------------------------------------------------------------------------------
# The steps


@dataclass(frozen=True)
class _Households:
    sizes: np.ndarray  # people in each household
    community: np.ndarray  # each household's community index, ascending
    of: np.ndarray  # each person's household index
    start: np.ndarray  # each household's first row: its head

    @property
    def n(self) -> int:
        return len(self.sizes)


def _people_per_community(rng: np.random.Generator, div: Divisions, n: int) -> np.ndarray:
    """People per county in exact census shares, then per community with skewed weights."""
    nc = len(div.community_code)
    per_county = largest_remainder(n, div.county_residents)
    town_w = rng.lognormal(0.0, 0.6, len(div.town_code))
    comm_w = rng.lognormal(0.0, 0.8, nc)
    names = div.community_name.astype(str)
    kind = np.where(np.char.endswith(names, "居委会"), 2.0, 1.0)
    kind[np.char.find(names, "虚拟") >= 0] = 0.1
    kind[np.char.endswith(names, "生活区")] = 0.3
    weight = town_w[div.community_town] * comm_w * kind
    counts = np.zeros(nc, dtype=np.int64)
    for c, pop in enumerate(per_county):
        if pop == 0:
            continue
        idx = np.flatnonzero(div.community_county == c)
        # A floor of 7 people (more than the largest household) survives the snapping in
        # _households, so from n ≈ 100,000 on every community has residents; at most half the
        # people go to floors.
        base = min(7, pop // (2 * len(idx)))
        w = weight[idx] / weight[idx].sum()
        counts[idx] = base + rng.multinomial(pop - base * len(idx), w)
    return counts


def _households(rng: np.random.Generator, n: int, counts: np.ndarray) -> _Households:
    """One global household-size sequence over the ``n`` people; the community boundaries
    (``counts`` people each) are snapped to household ends, so no household straddles two."""
    guess = max(16, int(n / 2.4) + 16)
    sizes = np.empty(0, dtype=np.int64)
    while sizes.sum() < n:
        sizes = np.concatenate([sizes, 1 + draw(rng, HOUSEHOLD_SIZE_P, guess)])
    ends = np.cumsum(sizes)
    last = int(np.searchsorted(ends, n)) if n else -1
    sizes, ends = sizes[: last + 1], ends[: last + 1]
    if n:
        sizes[-1] -= ends[-1] - n
        ends[-1] = n
    bounds = np.cumsum(counts)
    ends0 = np.concatenate([[0], ends])
    hi = np.minimum(np.searchsorted(ends0, bounds), len(ends0) - 1)
    lo = np.maximum(hi - 1, 0)
    snapped = np.where(bounds - ends0[lo] <= ends0[hi] - bounds, ends0[lo], ends0[hi])
    return _Households(
        sizes=sizes,
        community=np.searchsorted(snapped, ends, side="left"),
        of=np.repeat(np.arange(len(sizes)), sizes),
        start=ends - sizes,
    )


def _ages(rng: np.random.Generator, n: int, hh: _Households) -> np.ndarray:
    """Census ages; household heads are adults, the others drawn so the overall shares still match."""
    target = census_age_distribution()
    heads = _head_distribution(target)
    share_heads = hh.n / n if n else 0.0
    others = np.clip(target - share_heads * heads, 0.0, None)
    is_head = np.zeros(n, dtype=bool)
    is_head[hh.start] = True
    age = np.empty(n, dtype=np.int64)
    age[is_head] = draw(rng, heads, hh.n)
    if n > hh.n:
        age[~is_head] = draw(rng, others, n - hh.n)
    return age


def _birth_dates(rng: np.random.Generator, age: np.ndarray, today: dt.date) -> np.ndarray:
    """A uniform birth date within each age's one-year window before ``today`` (datetime64[D])."""
    win_hi = np.array([np.datetime64(_years_before(today, a), "D") for a in range(MAX_AGE + 1)])
    win_lo = np.array([np.datetime64(_years_before(today, a + 1), "D") + 1 for a in range(MAX_AGE + 1)])
    win_len = (win_hi - win_lo).astype(np.int64) + 1
    return win_lo[age] + (rng.random(len(age)) * win_len[age]).astype(np.int64)


def _origins(rng: np.random.Generator, div: Divisions, hh: _Households) -> tuple[np.ndarray, np.ndarray]:
    """Each household's ID region prefix (its county's, or another region's for migrants) and
    whether it is a migrant household."""
    migrant_hh = rng.random(hh.n) < MIGRANT_HOUSEHOLD_SHARE
    other_w = np.array([w for _, w in OTHER_PREFIXES])
    hh_prefix = div.county_code[div.community_county[hh.community]].astype(np.int64)
    other_codes = np.array([int(c) for c, _ in OTHER_PREFIXES], dtype=np.int64)
    hh_prefix[migrant_hh] = other_codes[draw(rng, other_w, int(migrant_hh.sum()))]
    return hh_prefix, migrant_hh


def _names(rng: np.random.Generator, hh: _Households, migrant_hh: np.ndarray, male: np.ndarray) -> pa.Array:
    """Surname (local or national weights; mostly the household's), one or two given characters."""
    n = len(male)
    migrant = migrant_hh[hh.of]
    local_w = np.array([s[1] for s in SURNAMES])
    national_w = np.array([s[2] for s in SURNAMES])
    hh_surname = np.where(migrant_hh, draw(rng, national_w, hh.n), draw(rng, local_w, hh.n))
    own_surname = np.where(migrant, draw(rng, national_w, n), draw(rng, local_w, n))
    surname = np.where(rng.random(n) < 0.7, hh_surname[hh.of], own_surname)
    given = np.array(list(GIVEN_MALE) + list(GIVEN_FEMALE) + [""])
    nm, nf = len(GIVEN_MALE), len(GIVEN_FEMALE)
    g1 = np.where(male, rng.integers(0, nm, n), nm + rng.integers(0, nf, n))
    g2 = np.where(male, rng.integers(0, nm, n), nm + rng.integers(0, nf, n))
    g2[rng.random(n) >= TWO_CHAR_GIVEN_SHARE] = len(given) - 1
    return join(take([s[0] for s in SURNAMES], surname), take(given, g1), take(given, g2))


def _id_numbers(
    rng: np.random.Generator, prefix: np.ndarray, birth: np.ndarray, male: np.ndarray
) -> pa.Array:
    """Resident IDs: prefix + yyyymmdd + 3-digit sequence (odd last digit: male) + check digit,
    sequences re-drawn until no two people share an ID."""
    base_key = prefix * 10**11 + ymd(birth) * 1000

    def draw_seq(rows: np.ndarray) -> np.ndarray:
        parity = np.where(male[rows], 1, 0)
        return rng.integers(0, 100, len(rows)) * 10 + rng.integers(0, 5, len(rows)) * 2 + parity

    key = base_key + draw_seq(np.arange(len(base_key)))
    key = unique_redraw(key, lambda rows: base_key[rows] + draw_seq(rows))
    return resident_ids(key)


def _phones(rng: np.random.Generator, n: int) -> pa.Array:
    """Mobile numbers: a weighted operator prefix + 8 random digits, unique."""
    phone_prefix = PHONE_PREFIXES[draw(rng, PHONE_PREFIX_W, n)] * 10**8
    phone = phone_prefix + rng.integers(0, 10**8, n)
    phone = unique_redraw(phone, lambda rows: phone_prefix[rows] + rng.integers(0, 10**8, len(rows)))
    return digits_to_strings(phone, 11)


def _tags(rng: np.random.Generator, age: np.ndarray, male: np.ndarray, hh_size: np.ndarray) -> pa.Array:
    """The care tags (:data:`TAGS`, ``;``-joined) at plausible rates for each person's age and sex."""
    n = len(age)
    female = ~male
    bits = np.zeros(n, dtype=np.int64)
    old = age >= 65
    n_old = int(old.sum())
    want_alone = 0.06 * n_old
    alone_pool = old & (hh_size == 1)
    n_pool = int(alone_pool.sum())
    u = rng.random(n)
    if n_pool >= want_alone:
        alone = alone_pool & (u < (want_alone / n_pool if n_pool else 0.0))
    else:
        rest = old & ~alone_pool
        alone = alone_pool | (rest & (u < (want_alone - n_pool) / max(int(rest.sum()), 1)))
    u = rng.random(n)
    bedridden = np.where(age >= 75, u < 0.03, (age >= 3) & (u < 0.002))
    adult = age >= 18
    dialysis_p = 0.0005 * n / max(int(adult.sum()), 1)
    flags = (
        bedridden,
        alone,
        age < 3,
        female & (age >= 20) & (age <= 40) & (rng.random(n) < 0.015),
        adult & (rng.random(n) < dialysis_p),
        rng.random(n) < 0.015,
    )
    for i, flag in enumerate(flags):
        bits |= flag.astype(np.int64) << i
    tag_strings = [";".join(t for i, t in enumerate(TAGS) if m >> i & 1) for m in range(1 << len(TAGS))]
    return take(tag_strings, bits)
