"""Which compound and building an address names (lianfang.geo.addresses): pure, no database."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lianfang.geo.addresses import AddressMatcher, Named, address_place, short_community_name

AREA = ("金山社区居委会", "金山社区", "青阳街道")
PLACES = {
    "阳光花园": ["1栋", "3栋", "13栋", "3栋A座"],
    "阳光花园二期": ["3栋"],
    "月亮湾": ["1号楼"],
    "1组": ["3号", "13号"],
    "11组": ["3号"],
}


def place(address, places=PLACES, area=AREA):
    return address_place(address, area, places)


def test_the_simulators_addresses():
    assert place("金山社区 阳光花园3栋2单元501室") == Named("阳光花园", "3栋")
    assert place("金山社区阳光花园13栋1单元101室") == Named("阳光花园", "13栋")
    assert place("金山社区1组13号") == Named("1组", "13号")
    assert place("金山社区11组3号") == Named("11组", "3号")


def test_either_name_of_the_community_its_town_or_none():
    for address in (
        "金山社区居委会阳光花园1栋",
        "金山社区阳光花园1栋",
        "阳光花园1栋",
        "青阳街道金山社区 阳光花园1栋",
    ):
        assert place(address) == Named("阳光花园", "1栋"), address


def test_the_longest_compound_and_building_win():
    assert place("金山社区阳光花园二期3栋") == Named("阳光花园二期", "3栋")
    assert place("金山社区阳光花园3栋A座201") == Named("阳光花园", "3栋A座")
    assert place("阳光花园3栋2单元") == Named("阳光花园", "3栋")  # not 3栋A座, not 13栋


def test_a_number_never_ends_inside_another():
    places = {"1组": ["1", "12"], "A区": ["1"]}
    assert place("11组3号", places) is None  # 1组 does not claim 11组
    assert place("1组123号", places) == Named("1组", None)  # neither 1 nor 12 claim 123
    assert place("1组12号", places) == Named("1组", "12")
    assert place("A区1号", places) == Named("A区", "1")


def test_full_width_and_spaces():
    assert place("\u3000金山社区\u3000阳光花园\u3000３栋２单元") == Named("阳光花园", "3栋")
    assert place("金山社区  阳光花园 13栋") == Named("阳光花园", "13栋")
    assert place("金山社区阳光花园1栋", {"阳光花园": ["１栋"]}) == Named(
        "阳光花园", "１栋"
    )  # stored name back


def test_a_compound_alone_and_no_match():
    assert place("金山社区阳光花园9栋") == Named("阳光花园", None)
    assert place("金山社区阳光花园") == Named("阳光花园", None)
    for address in ("", "   ", "金山社区", "金山社区星河湾1栋", "银山社区阳光花园1栋", "花园1栋", None):
        assert place(address) is None, address
    assert place("金山社区阳光花园1栋", {}) is None


def test_a_compound_named_after_its_community():
    places = {"金山社区花园": ["1栋"]}
    assert place("金山社区花园1栋", places) == Named("金山社区花园", "1栋")  # read again, unstripped
    assert place("金山社区 金山社区花园1栋", places) == Named("金山社区花园", "1栋")
    both = {"金山社区花园": ["1栋"], "花园": ["1栋"]}
    assert place("金山社区花园1栋", both) == Named("花园", "1栋")  # the community's name goes first


def test_names_equal_in_nfkc_are_ambiguous():
    assert place("阳光花园3栋", {"阳光花园": ["3栋", "３栋"]}) == Named("阳光花园", None)
    assert place("阳光花园3栋", {"阳光花园": ["3栋"], "阳光花园\u3000": ["3栋"]}) is None


def test_short_names():
    assert short_community_name("金山社区居委会") == "金山社区"
    assert short_community_name("双溪村委会") == "双溪村"
    assert short_community_name("某某居民会") == "某某"
    assert short_community_name("港区") == "港区"


name_chars = st.sampled_from(list("阳光花园月亮湾组栋号楼AB一二") + list("0123456789"))
names = st.text(name_chars, min_size=1, max_size=5)


def _boundary(name: str, after: str) -> bool:
    """The one reason a name that prefixes the text is not read: a number ending inside another."""
    return name[-1].isdigit() and after[:1].isdigit()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.dictionaries(names, st.lists(names, min_size=1, max_size=4, unique=True), min_size=1, max_size=5),
    st.data(),
)
def test_the_longest_known_prefixes_are_found_and_nothing_unknown(places, data):
    compound = data.draw(st.sampled_from(sorted(places)))
    building = data.draw(st.sampled_from(places[compound]))
    tail = data.draw(st.sampled_from(["", "2单元501室", "单元"]))
    rest = f"{compound}{building}{tail}"
    found = AddressMatcher(AREA, places).match(f"金山社区\u3000{rest}")
    if found is None:
        assert _boundary(compound, building + tail)
        return
    assert found.compound in places and rest.startswith(found.compound)
    after = rest[len(found.compound) :]
    assert not _boundary(found.compound, after)
    for other in places:  # no longer readable compound
        if len(other) > len(found.compound) and rest.startswith(other):
            assert _boundary(other, rest[len(other) :])
    if found.building is None:
        assert all(not after.startswith(b) or _boundary(b, after[len(b) :]) for b in places[found.compound])
    else:
        assert found.building in places[found.compound] and after.startswith(found.building)
        for other in places[found.compound]:
            if len(other) > len(found.building) and after.startswith(other):
                assert _boundary(other, after[len(other) :])
