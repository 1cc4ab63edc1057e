"""The division-code algebra, written once (GB/T 2260 six digits + the 12-digit statistical code).

A code's length is its level: province 2, city 4, county 6, town/street 9, community/village 12.
A code lies inside another when it starts with it. Rows that hold a place carry the indexed
columns ``county_code`` (6), ``town_code`` (9) and ``community_id`` (12): a filter on a code of
those lengths is an exact match on one of them, a wider code a prefix of the county column.
No Django here: the models, the SQL of selectors and reports, and the pages all use these.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping

PROVINCE, CITY, COUNTY, TOWN, COMMUNITY = 1, 2, 3, 4, 5

# The length of a code at each level, and back.
LENGTH = {PROVINCE: 2, CITY: 4, COUNTY: 6, TOWN: 9, COMMUNITY: 12}
LEVEL_OF_LENGTH = {length: level for level, length in LENGTH.items()}
LENGTHS = tuple(sorted(LEVEL_OF_LENGTH))

# The indexed column of a located row that holds a code of this length (exact match).
COLUMN_OF_LENGTH = {6: "county_code", 9: "town_code", 12: "community_id"}


class CodeError(ValueError):
    """Not a division code."""


def is_code(code: str) -> bool:
    return isinstance(code, str) and code.isdigit() and len(code) in LEVEL_OF_LENGTH


def level(code: str) -> int:
    """The level (1 province … 5 community) of a code, from its length."""
    try:
        return LEVEL_OF_LENGTH[len(code)]
    except (KeyError, TypeError) as exc:
        raise CodeError(
            f"区划代码须为2/4/6/9/12位数字 / a division code has 2, 4, 6, 9 or 12 digits: {code!r}"
        ) from exc


def parent(code: str) -> str | None:
    """The enclosing division's code (None for a province)."""
    lvl = level(code)
    return None if lvl == PROVINCE else code[: LENGTH[lvl - 1]]


def at_level(code: str, lvl: int) -> str:
    """The code of the division at ``lvl`` that contains ``code`` (its own code at its level)."""
    length = LENGTH[lvl]
    if len(code) < length:
        raise CodeError(f"{code} 不在 {lvl} 级之下 / {code} is above level {lvl}")
    return code[:length]


def county(code: str) -> str:
    return at_level(code, COUNTY)


def town(code: str) -> str:
    return at_level(code, TOWN)


def ancestors(code: str) -> list[str]:
    """Every enclosing code, outermost first (not the code itself)."""
    return [code[:n] for n in LENGTHS if n < len(code)]


def child_length(code_or_length: str | int) -> int:
    """The length of the codes one level below (12 stays 12: a community has no children here)."""
    n = code_or_length if isinstance(code_or_length, int) else len(code_or_length)
    return next((m for m in LENGTHS if m > n), LENGTHS[-1])


def column_at(lvl: int, columns: Mapping[int, str] | None = None) -> str:
    """The code column of a located row to group by for the divisions at ``lvl``: the column
    holding codes of that level, or the first holding longer ones (a province's or a city's
    divisions are read from the county column, whose codes start with theirs)."""
    columns = COLUMN_OF_LENGTH if columns is None else columns
    return columns[next(n for n in sorted(columns) if n >= LENGTH[lvl])]


def inside(code: str, area: str) -> bool:
    """True when ``code`` (any level) lies inside ``area`` (any level)."""
    return code.startswith(area)


def common(codes: Iterable[str]) -> str:
    """The smallest division holding every one of ``codes`` ("" when there are none, or when they
    share not even a province)."""
    codes = [c for c in codes if c]
    if not codes:
        return ""
    shared = os.path.commonprefix(codes)
    return next((shared[:n] for n in reversed(LENGTHS) if len(shared) >= n), "")


def covered(code: str, codes: Iterable[str]) -> bool:
    """True when ``code`` lies inside one of ``codes``."""
    return any(code.startswith(c) for c in codes)


def outermost(codes: Iterable[str]) -> tuple[str, ...]:
    """Drop codes already covered by a shorter one (350582 under 3505); sorted."""
    kept: list[str] = []
    for code in sorted(set(codes), key=len):
        if not covered(code, kept):
            kept.append(code)
    return tuple(sorted(kept))


def intersect(area: Iterable[str], codes: Iterable[str]) -> tuple[str, ...]:
    """The parts of ``area`` inside ``codes``: each code of one side that lies in the other."""
    area, codes = tuple(area), tuple(codes)
    found = [a for a in area if covered(a, codes)] + [c for c in codes if covered(c, area)]
    return outermost(found)


def overlapping(code: str, codes: Iterable[str]) -> bool:
    """True when ``code`` lies inside one of ``codes`` or contains one of them."""
    return any(code.startswith(c) or c.startswith(code) for c in codes)


def lookups(
    codes: Iterable[str], columns: Mapping[int, str] = COLUMN_OF_LENGTH
) -> list[tuple[str, str, bool]]:
    """How to test "a row lies inside ``codes``": ``(column, code, prefix)`` triples, any of which
    suffices (``column = code``, or with ``prefix`` ``column LIKE 'code%'``).

    ``columns`` names the row's code columns by the length of the codes they hold (a located row:
    county 6, town 9, community 12). A code is an exact match on the column of its own length, a
    prefix of the first column holding longer codes otherwise; a code longer than every column
    matches nothing and is left out. So no code gives no test: nothing matches.
    """
    out = []
    for code in codes:
        column = columns.get(len(code))
        if column is not None:
            out.append((column, code, False))
            continue
        longer = [n for n in sorted(columns) if n > len(code)]
        if longer:
            out.append((columns[longer[0]], code, True))
    return out


def where(codes: Iterable[str], alias: str = "") -> tuple[str, list]:
    """SQL (both databases) for "a located row ``alias`` lies inside ``codes``", with its params.

    The tests of :func:`lookups` on the indexed county / town / community columns; no code
    matches nothing.
    """
    prefix = f"{alias}." if alias else ""
    parts, params = [], []
    for column, code, like in lookups(codes):
        parts.append(f"{prefix}{column} {'LIKE' if like else '='} %s")
        params.append(code + "%" if like else code)
    return "(" + " OR ".join(parts or ["1 = 0"]) + ")", params


# --- places below a community: compounds (小区) and buildings (楼栋) ------------------------------
#
# A compound's code is its community's code, "-" and 3 digits (350582001004-001); a building's is
# its compound's code, "-" and 2 digits, 3 from its 100th (350582001004-001-03). They extend the
# algebra above: a place's code starts with its community's, so "inside" by prefix and the scoping
# of rows by their community hold for them. They are never division codes (``is_code`` is False,
# ``level`` raises): nothing mistakes a building for a division.

PLACE_SEPARATOR = "-"
COMPOUND_DIGITS = 3
COMPOUND_MAX = 999
BUILDING_MAX = 999


def compound_code(community: str, number: int) -> str:
    """The code of a community's ``number``-th compound (1 → ``-001``)."""
    if not 1 <= number <= COMPOUND_MAX:
        raise CodeError(f"小区编号须为 1–{COMPOUND_MAX} / a compound number is 1 to {COMPOUND_MAX}: {number}")
    return f"{community}{PLACE_SEPARATOR}{number:03d}"


def building_code(compound: str, number: int) -> str:
    """The code of a compound's ``number``-th building (3 → ``-03``, 120 → ``-120``)."""
    if not 1 <= number <= BUILDING_MAX:
        raise CodeError(f"楼栋编号须为 1–{BUILDING_MAX} / a building number is 1 to {BUILDING_MAX}: {number}")
    return f"{compound}{PLACE_SEPARATOR}{number:02d}"


def place_parts(code: str) -> tuple[str, ...] | None:
    """``(community, compound number[, building number])`` of a compound or building code, None
    for anything else (a division code included)."""
    if not isinstance(code, str):
        return None
    parts = tuple(code.split(PLACE_SEPARATOR))
    if len(parts) not in (2, 3) or not all(p.isdigit() for p in parts):
        return None
    if len(parts[0]) != LENGTH[COMMUNITY] or len(parts[1]) != COMPOUND_DIGITS:
        return None
    if len(parts) == 3 and len(parts[2]) not in (2, 3):
        return None
    return parts


def is_place_code(code: str) -> bool:
    """True for a well-formed compound or building code."""
    return place_parts(code) is not None


def is_compound_code(code: str) -> bool:
    parts = place_parts(code)
    return parts is not None and len(parts) == 2


def is_building_code(code: str) -> bool:
    parts = place_parts(code)
    return parts is not None and len(parts) == 3


def place_community(code: str) -> str:
    """The 12-digit community code of a community, compound or building code."""
    community = code.split(PLACE_SEPARATOR, 1)[0]
    if len(community) != LENGTH[COMMUNITY] or not community.isdigit():
        raise CodeError(f"{code!r} 不是社区、小区或楼栋代码 / not a community, compound or building code")
    return community


def place_inside(code: str, area: str) -> bool:
    """True when the place ``code`` (a division, compound or building code) lies inside ``area``
    (the same kinds). A prefix, except that a compound or building area holds only the codes that
    continue it at a separator: building ``-10`` does not hold building ``-100``."""
    if not code.startswith(area):
        return False
    if PLACE_SEPARATOR not in area:
        return True
    return len(code) == len(area) or code[len(area)] == PLACE_SEPARATOR


def place_covered(code: str, areas: Iterable[str]) -> bool:
    """True when the place ``code`` lies inside one of ``areas`` (see :func:`place_inside`)."""
    return any(place_inside(code, a) for a in areas)
