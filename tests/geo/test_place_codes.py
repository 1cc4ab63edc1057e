"""Codes of compounds and buildings: they extend the division-code algebra (a place's code starts
with its community's) and are never taken for a division."""

from __future__ import annotations

import pytest

from lianfang.core import codes

COMMUNITY = "350582001004"
COMPOUND = "350582001004-001"
BUILDING = "350582001004-001-03"


def test_codes_are_numbered_under_their_parent():
    assert codes.compound_code(COMMUNITY, 1) == COMPOUND
    assert codes.building_code(COMPOUND, 3) == BUILDING
    assert codes.building_code(COMPOUND, 120) == COMPOUND + "-120"
    for bad in (0, 1000):
        with pytest.raises(codes.CodeError):
            codes.compound_code(COMMUNITY, bad)
        with pytest.raises(codes.CodeError):
            codes.building_code(COMPOUND, bad)


def test_a_place_code_is_never_a_division_code():
    for code in (COMPOUND, BUILDING):
        assert not codes.is_code(code)
        with pytest.raises(codes.CodeError):
            codes.level(code)
        assert codes.is_place_code(code)
        assert code.startswith(COMMUNITY) and codes.covered(code, ["350582"])  # prefix scoping holds
        assert codes.county(code) == "350582" and codes.town(code) == "350582001"
    assert codes.is_compound_code(COMPOUND) and not codes.is_building_code(COMPOUND)
    assert codes.is_building_code(BUILDING) and not codes.is_compound_code(BUILDING)
    for not_place in (COMMUNITY, "350582", "350582001004-1", "350582001004-001-3", "35058200100-001",
                      "350582001004-001-03-01", "350582001004-abc", "", None):  # fmt: skip
        assert not codes.is_place_code(not_place), not_place


def test_place_community_and_inside():
    assert codes.place_community(BUILDING) == COMMUNITY
    assert codes.place_community(COMPOUND) == COMMUNITY
    assert codes.place_community(COMMUNITY) == COMMUNITY
    with pytest.raises(codes.CodeError):
        codes.place_community("350582001")  # a town holds no single community
    assert codes.place_inside(BUILDING, COMMUNITY)
    assert codes.place_inside(BUILDING, COMPOUND)
    assert codes.place_inside(BUILDING, BUILDING)
    assert codes.place_inside(BUILDING, "350582")
    assert not codes.place_inside(COMMUNITY, BUILDING)  # known only by community: not in a building
    assert not codes.place_inside(COMPOUND + "-04", BUILDING)
    # building 10 does not hold building 100, nor compound 001 hold compound 0012 (not a code anyway)
    assert not codes.place_inside(COMPOUND + "-100", COMPOUND + "-10")
    assert codes.place_inside(COMPOUND + "-100", COMPOUND)
    assert codes.place_covered(BUILDING, ["350502001001", COMPOUND])
    assert not codes.place_covered(BUILDING, ["350582001005", "350582001004-002"])
