"""Which compound (小区) and building (楼栋) a registry address names (issue 13). Pure: no Django.

An address of persons.csv is free text, "compound, building, unit, room" (FORMATS.md), often led
by the community's name: "金山社区 阳光花园3栋2单元501室", "双溪村2组13号". The rule (docs/formats.md,
"compounds and buildings"):

1. Both the address and the known names are compared in Unicode NFKC (full-width digits, letters
   and spaces are their ASCII selves); whitespace is skipped before each part.
2. A leading area name is stripped (the community's full or short name, longest first; a name
   may follow another, "青阳街道金山社区…"). When the rest names no known compound the address is
   read again with fewer names stripped (a compound named after its community, "金山社区花园").
3. The longest known compound name that is a prefix of the rest, then the longest known building
   name of that compound that is a prefix of what follows. A name ending in a digit never
   matches before another digit: building "1" is not read in "12栋", compound "1组" not in "11组".
4. No compound → None; a compound and no building of it → the compound alone. Two known names
   that are the same in NFKC (``3栋`` and ``３栋``) are ambiguous: neither matches.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

_AMBIGUOUS = object()


def short_community_name(name: str) -> str:
    """'金山社区居委会' → '金山社区', '双溪村委会' → '双溪村': the name addresses use."""
    if name.endswith("村委会"):
        return name[:-2]
    if name.endswith(("居委会", "居民会")):
        return name[:-3]
    return name


def _norm(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


@dataclass(frozen=True)
class Named:
    """What an address names: a compound, and one of its buildings (None: the compound alone)."""

    compound: str
    building: str | None = None


class _Prefixes:
    """Known names (in NFKC), found as the longest one that a text starts with."""

    def __init__(self, names: Iterable[str]):
        self.by_norm: dict[str, object] = {}
        for name in names:
            key = _norm(name).strip()
            if not key:
                continue
            known = self.by_norm.get(key)
            self.by_norm[key] = name if known is None or known == name else _AMBIGUOUS
        self.lengths = sorted({len(k) for k in self.by_norm}, reverse=True)

    def longest(self, text: str) -> tuple[str, str] | None:
        """(the original name, the text after it) of the longest name ``text`` starts with."""
        for length in self.lengths:
            if length > len(text):
                continue
            head = text[:length]
            found = self.by_norm.get(head)
            if found is None:
                continue
            if found is _AMBIGUOUS:
                return None
            if head[-1].isdigit() and length < len(text) and text[length].isdigit():
                continue  # "1" in "12栋": a number does not end inside another
            return found, text[length:]
        return None


class AddressMatcher:
    """One community's names and places, made once and asked for many addresses."""

    def __init__(self, area_names: Iterable[str], compounds: Mapping[str, Iterable[str]]):
        self.areas = _Prefixes(area_names)
        self.compounds = _Prefixes(compounds)
        self.buildings = {name: _Prefixes(buildings) for name, buildings in compounds.items()}

    def _rests(self, text: str) -> list[str]:
        """The address with its leading area names stripped, most stripped first, the whole last."""
        rests = [text]
        while (found := self.areas.longest(rests[-1])) is not None and found[1] != rests[-1]:
            rests.append(found[1].lstrip())
        return rests[::-1]

    def match(self, address: str) -> Named | None:
        text = _norm(address or "").strip()
        for rest in self._rests(text):
            found = self.compounds.longest(rest)
            if found is None:
                continue
            compound, after = found
            building = self.buildings[compound].longest(after.lstrip())
            return Named(compound, building[0] if building else None)
        return None


def address_place(
    address: str, area_names: Iterable[str], compounds: Mapping[str, Iterable[str]]
) -> Named | None:
    """The compound and building ``address`` names among ``compounds`` (compound name → its
    building names) of one community whose names are ``area_names`` (e.g. 金山社区居委会,
    金山社区); None when it names no known compound. See the module's rule."""
    return AddressMatcher(area_names, compounds).match(address)
