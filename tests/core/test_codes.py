"""The division-code algebra (:mod:`lianfang.core.codes`): the helpers the screening reads use."""

from __future__ import annotations

import pytest

from lianfang.core import codes


def test_column_at_names_the_column_that_holds_or_starts_the_level():
    assert codes.column_at(codes.COMMUNITY) == "community_id"
    assert codes.column_at(codes.TOWN) == "town_code"
    assert codes.column_at(codes.COUNTY) == "county_code"
    # A city's or a province's divisions are read from the county codes, which start with theirs.
    assert codes.column_at(codes.CITY) == "county_code"
    assert codes.column_at(codes.PROVINCE) == "county_code"
    assert codes.column_at(codes.CITY, {12: "community__code"}) == "community__code"


def test_intersect_keeps_the_parts_inside_both():
    assert codes.intersect(["3505"], ["350582", "350502001"]) == ("350502001", "350582")
    assert codes.intersect(["350582", "350583"], ["3505"]) == ("350582", "350583")
    assert codes.intersect(["350582"], ["350583"]) == ()
    assert codes.intersect(["350582001", "350582"], ["35"]) == ("350582",)


def test_where_matches_a_code_on_the_column_of_its_length_and_a_wider_one_by_prefix():
    sql, params = codes.where(["3505", "350582", "350582001", "350582001004"], "p")
    assert sql == "(p.county_code LIKE %s OR p.county_code = %s OR p.town_code = %s OR p.community_id = %s)"
    assert params == ["3505%", "350582", "350582001", "350582001004"]
    assert codes.where([]) == ("(1 = 0)", [])


def test_at_level_refuses_a_code_above_the_level():
    assert codes.at_level("350582001004", codes.TOWN) == "350582001"
    with pytest.raises(codes.CodeError):
        codes.at_level("3505", codes.COUNTY)
