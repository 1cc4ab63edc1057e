"""Where the synthetic households live: a distinct dwelling each, and its address strings.

Each community gets dwellings: urban compounds (小区) with buildings, units, floors and rooms, or
village groups (组) with house numbers; its households draw distinct dwellings without
replacement. Only the loop over communities is Python; the addresses are built column-wise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from lianfang.simulate.arrays import draw, int_str, join, take
from lianfang.simulate.divisions import Divisions
from lianfang.simulate.names import COMPOUND_PREFIXES, COMPOUND_SUFFIXES

FLOOR_CHOICES = np.array([5, 6, 7, 8, 11, 18, 26, 32])
FLOOR_P = np.array([0.15, 0.2, 0.15, 0.1, 0.15, 0.15, 0.05, 0.05])
N_COMPOUND_NAMES = len(COMPOUND_PREFIXES) * len(COMPOUND_SUFFIXES)


@dataclass(frozen=True)
class Homes:
    """One string per household: its full address, compound (or group), building and household code."""

    address: pa.Array
    compound: pa.Array
    building: pa.Array
    code: pa.Array


def household_homes(rng: np.random.Generator, div: Divisions, hh_comm: np.ndarray) -> Homes:
    """A dwelling for each household (``hh_comm``: its community index, ascending) and its strings."""
    comp_name, params, hh_slot = _draw_dwellings(rng, div, hh_comm)
    hh_comp, bldg, unit, floor, room = _dwelling_parts(params, hh_slot)
    hh_village = div.community_is_village[hh_comm]
    comp_str = take(comp_name, hh_comp)
    bldg_str = join(int_str(bldg), take(["栋", "号"], hh_village.astype(np.int8)))
    short = take(div.community_short_name, hh_comm)
    urban_addr = join(
        short,
        pa.scalar(" "),
        comp_str,
        bldg_str,
        int_str(unit),
        pa.scalar("单元"),
        int_str(floor * 100 + room),
        pa.scalar("室"),
    )
    village_addr = join(short, comp_str, bldg_str)
    return Homes(
        address=pc.if_else(pa.array(hh_village), village_addr, urban_addr),
        compound=comp_str,
        building=bldg_str,
        code=_household_codes(div, hh_comm),
    )


def _household_codes(div: Divisions, hh_comm: np.ndarray) -> pa.Array:
    """Community code + the household's number within its community (at least 5 digits)."""
    hh_serial = np.arange(len(hh_comm)) - np.searchsorted(hh_comm, hh_comm, side="left") + 1
    serial_width = max(5, len(str(int(hh_serial.max())))) if len(hh_comm) else 5
    return join(take(div.community_code, hh_comm), int_str(hh_serial, serial_width))


def _draw_dwellings(
    rng: np.random.Generator, div: Divisions, hh_comm: np.ndarray
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Compounds per community and one distinct slot per household among their dwellings.

    Returns the compound names, their (buildings, units, floors, rooms per floor) as an array,
    and each household's slot: an index into all dwellings, compound after compound.
    """
    nc = len(div.community_code)
    is_village = div.community_is_village
    hh_per_comm = np.bincount(hh_comm, minlength=nc)
    first_hh = np.searchsorted(hh_comm, np.arange(nc))
    comp_name: list[str] = []
    comp_params: list[tuple[int, int, int, int]] = []
    hh_slot = np.empty(len(hh_comm), dtype=np.int64)
    total_cap = 0
    for c in np.flatnonzero(hh_per_comm):
        h = int(hh_per_comm[c])
        needed = int(np.ceil(h / rng.uniform(0.6, 0.95)))
        params = _village_groups(rng, needed) if is_village[c] else _urban_compounds(rng, needed)
        cap = sum(b * u * f * r for b, u, f, r in params)
        if is_village[c]:
            comp_name.extend(f"{g + 1}组" for g in range(len(params)))
        else:
            if cap < h:  # only if a community has more households than 1,200 compounds hold
                raise ValueError(f"community {div.community_code[c]} cannot house {h} households")
            picks = rng.choice(N_COMPOUND_NAMES, len(params), replace=False)
            comp_name.extend(
                COMPOUND_PREFIXES[p // len(COMPOUND_SUFFIXES)] + COMPOUND_SUFFIXES[p % len(COMPOUND_SUFFIXES)]
                for p in picks
            )
        comp_params.extend(params)
        start = first_hh[c]
        hh_slot[start : start + h] = total_cap + rng.choice(cap, h, replace=False)
        total_cap += cap
    return comp_name, np.array(comp_params, dtype=np.int64).reshape(-1, 4), hh_slot


def _village_groups(rng: np.random.Generator, needed: int) -> list[tuple[int, int, int, int]]:
    """Village groups (组) of 20-119 houses, at least 3, until they hold ``needed`` households."""
    params: list[tuple[int, int, int, int]] = []
    cap = 0
    while cap < needed:
        for _ in range(int(rng.integers(3, 10)) if not params else 1):
            houses = int(rng.integers(20, 120))
            params.append((houses, 1, 1, 1))
            cap += houses
    return params


def _urban_compounds(rng: np.random.Generator, needed: int) -> list[tuple[int, int, int, int]]:
    """Compounds of buildings × units × floors × rooms until they hold ``needed`` households (or
    every compound name is used)."""
    params: list[tuple[int, int, int, int]] = []
    cap = 0
    while cap < needed and len(params) < N_COMPOUND_NAMES:
        b = int(rng.integers(2, 25))
        u = int(rng.integers(1, 4))
        f = int(FLOOR_CHOICES[draw(rng, FLOOR_P, 1)[0]])
        r = int(rng.integers(2, 5))
        params.append((b, u, f, r))
        cap += b * u * f * r
    return params


def _dwelling_parts(params: np.ndarray, hh_slot: np.ndarray) -> tuple[np.ndarray, ...]:
    """Each slot → (compound index, building, unit, floor, room), numbered from 1."""
    comp_cap = params.prod(axis=1)
    comp_end = np.cumsum(comp_cap)
    hh_comp = np.searchsorted(comp_end, hh_slot, side="right")
    local = hh_slot - (comp_end - comp_cap)[hh_comp]
    _, pu, pf, pr = (params[hh_comp, i] for i in range(4))
    room = local % pr + 1
    local //= pr
    floor = local % pf + 1
    local //= pf
    unit = local % pu + 1
    bldg = local // pu + 1
    return hh_comp, bldg, unit, floor, room
