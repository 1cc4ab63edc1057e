"""Quanzhou's division tree as NumPy arrays, read from the CSVs shipped in ``lianfang.geo``.

Pure stdlib + NumPy (no Django): the generator and the screening-file simulator place people
and sites in real counties, towns and communities.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from importlib import resources

import numpy as np

from lianfang.geo.addresses import short_community_name

__all__ = ["Divisions", "default_divisions", "load_divisions", "short_community_name"]


@dataclass(frozen=True)
class Divisions:
    """Quanzhou's counties, towns and communities as parallel NumPy arrays (sorted by code).

    ``town_county``, ``community_town`` and ``community_county`` are indices into the parent arrays.
    """

    county_code: np.ndarray
    county_name: np.ndarray
    county_residents: np.ndarray
    town_code: np.ndarray
    town_name: np.ndarray
    town_county: np.ndarray
    community_code: np.ndarray
    community_name: np.ndarray
    community_town: np.ndarray
    community_county: np.ndarray

    @property
    def community_short_name(self) -> np.ndarray:
        """'金山社区居委会' → '金山社区', '双溪村委会' → '双溪村': the name used in addresses."""
        return np.array([short_community_name(s) for s in self.community_name])

    @property
    def community_is_village(self) -> np.ndarray:
        return np.char.endswith(self.community_name.astype(str), "村委会")


def _read_csv(name: str) -> list[dict[str, str]]:
    path = resources.files("lianfang.geo") / "data" / name
    with path.open("r", encoding="utf-8-sig", newline="") as fh:
        return [{k.strip(): (v or "").strip() for k, v in row.items()} for row in csv.DictReader(fh)]


def load_divisions() -> Divisions:
    """Read the shipped Quanzhou division CSVs (counties, towns, communities, 2021 residents)."""
    counties = sorted(_read_csv("quanzhou-counties.csv"), key=lambda r: r["code"])
    towns = sorted(_read_csv("quanzhou-towns.csv"), key=lambda r: r["code"])
    comms = sorted(_read_csv("quanzhou-communities.csv"), key=lambda r: r["code"])
    residents = {
        r["county_code"]: int(r["residents_2021"] or 0) for r in _read_csv("quanzhou-population.csv")
    }

    county_index = {r["code"]: i for i, r in enumerate(counties)}
    town_index = {r["code"]: i for i, r in enumerate(towns)}
    return Divisions(
        county_code=np.array([r["code"] for r in counties], dtype="U6"),
        county_name=np.array([r["name"] for r in counties]),
        county_residents=np.array([residents.get(r["code"], 0) for r in counties], dtype=np.int64),
        town_code=np.array([r["code"] for r in towns], dtype="U9"),
        town_name=np.array([r["name"] for r in towns]),
        town_county=np.array([county_index[r["areaCode"]] for r in towns], dtype=np.int64),
        community_code=np.array([r["code"] for r in comms], dtype="U12"),
        community_name=np.array([r["name"] for r in comms]),
        community_town=np.array([town_index[r["streetCode"]] for r in comms], dtype=np.int64),
        community_county=np.array([county_index[r["areaCode"]] for r in comms], dtype=np.int64),
    )


_DIVISIONS: Divisions | None = None


def default_divisions() -> Divisions:
    """The shipped divisions, read once per process."""
    global _DIVISIONS
    if _DIVISIONS is None:
        _DIVISIONS = load_divisions()
    return _DIVISIONS
