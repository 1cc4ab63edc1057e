"""The zone rules for an area drawn by compound or building (issue 13), without a database: a
person is placed by the registry's building, else by their community (FORMATS.md is silent here;
docs/formats.md states the choice)."""

from __future__ import annotations

import datetime as dt

from lianfang.zones.clock import Facts, Resident, ResultFact, RoundFact, SampleFact, zones_status
from tests.zones.test_clock import case, change, close_contact, t

COMM = "350582001004"
COMPOUND = f"{COMM}-001"
A, B = f"{COMPOUND}-01", f"{COMPOUND}-02"  # two buildings of one compound
OTHER_COMPOUND_BUILDING = f"{COMM}-002-01"

# Where the registry has the people of the cases and contacts (by ID number).
PLACES = {
    ("resident_id", "IDA"): A,
    ("resident_id", "IDB"): B,
    ("resident_id", "IDX"): "350582001005-001-01",  # the registry's building lies in another community
    ("resident_id", "KA"): A,
    ("resident_id", "KB"): B,
}
ROUND = RoundFact("R1", t("2022-03-25 08:00"), ("350582",), dt.date(2020, 3, 25))
RESIDENTS = [
    Resident(1, "resident_id", "RA", COMM, dt.date(1980, 1, 1), place_code=A),
    Resident(2, "resident_id", "RB", COMM, dt.date(1980, 1, 1), place_code=B),
    Resident(3, "resident_id", "RC", COMM, dt.date(1980, 1, 1)),  # known only by community
]


def status(area, at, *, cases=(), plans=(), samples=(), results=()):
    history = {"Z": [change("Z", "sealed", "2022-03-10 10:00", area=area)]}
    facts = Facts(
        at=t(at),
        cases=list(cases),
        plans=list(plans),
        rounds=(ROUND,),
        residents=RESIDENTS,
        samples=list(samples),
        results=list(results),
        places=PLACES,
    )
    (got,) = zones_status(history, facts)
    return got


def test_a_case_in_the_building_resets_its_clock():
    got = status([A], "2022-03-13 00:00", cases=[case("CA", COMM, "2022-03-12 08:00", id_number="IDA")])
    assert got.reset_by == "CA" and got.clock_from == t("2022-03-12 08:00")


def test_a_case_in_another_building_of_the_community_does_not():
    got = status([A], "2022-03-13 00:00", cases=[case("CB", COMM, "2022-03-12 08:00", id_number="IDB")])
    assert got.reset_by is None and got.clock_from == t("2022-03-10 10:00")


def test_a_case_known_only_by_community_does_not_reset_a_building_zone():
    unknown = case("CU", COMM, "2022-03-12 08:00", id_number="NOT-IN-REGISTRY")
    assert status([A], "2022-03-13 00:00", cases=[unknown]).reset_by is None
    # ... but does reset the zone of its community, and a building case resets the community too
    assert status([COMM], "2022-03-13 00:00", cases=[unknown]).reset_by == "CU"
    in_b = case("CB", COMM, "2022-03-12 08:00", id_number="IDB")
    assert status([COMM], "2022-03-13 00:00", cases=[in_b]).reset_by == "CB"


def test_a_compound_zone_holds_its_buildings_only():
    in_b = case("CB", COMM, "2022-03-12 08:00", id_number="IDB")
    assert status([COMPOUND], "2022-03-13 00:00", cases=[in_b]).reset_by == "CB"
    assert status([OTHER_COMPOUND_BUILDING], "2022-03-13 00:00", cases=[in_b]).reset_by is None


def test_a_registry_building_in_another_community_than_the_case_states_is_not_used():
    # the case is stated in COMM, the registry's building is elsewhere: placed by the community
    odd = case("CX", COMM, "2022-03-12 08:00", id_number="IDX")
    assert status(["350582001005-001-01"], "2022-03-13 00:00", cases=[odd]).reset_by is None
    assert status([COMM], "2022-03-13 00:00", cases=[odd]).reset_by == "CX"


def test_contacts_of_the_building_only_block_its_lift():
    # monitoring of K* ends 03-30; the clock is clear at 03-24 10:00 (14 days from 03-10 10:00)
    in_b = close_contact("KB", COMM, "2022-03-20 07:00", "2022-03-20 12:00")
    in_a = close_contact("KA", COMM, "2022-03-20 07:00", "2022-03-20 12:00")
    samples = [SampleFact("R1", 1, "T1", t("2022-03-25 10:00"))]
    negative = [ResultFact("T1", "negative", t("2022-03-25 18:00"))]
    ok = status([A], "2022-03-26 09:00", plans=[in_b], samples=samples, results=negative)
    assert ok.proposal == "lift", ok.conditions
    blocked = status([A], "2022-03-26 09:00", plans=[in_a], samples=samples, results=negative)
    assert blocked.proposal is None
    assert next(c for c in blocked.conditions if c.code == "contacts").detail["open"] == 1


def test_the_round_counts_the_residents_of_the_building_only():
    # resident 1 lives in A and is sampled negative; residents 2 (building B) and 3 (community
    # only) are not sampled and do not count for a zone of building A
    samples = [SampleFact("R1", 1, "T1", t("2022-03-25 10:00"))]
    negative = [ResultFact("T1", "negative", t("2022-03-25 18:00"))]
    got = status([A], "2022-03-26 09:00", samples=samples, results=negative)
    rnd = next(c for c in got.conditions if c.code == "round")
    assert rnd.holds and rnd.detail["untested"] == 0 and got.proposal == "lift"
    whole = status([COMM], "2022-03-26 09:00", samples=samples, results=negative)
    assert next(c for c in whole.conditions if c.code == "round").detail["untested"] == 2
    compound = status([COMPOUND], "2022-03-26 09:00", samples=samples, results=negative)
    assert next(c for c in compound.conditions if c.code == "round").detail["untested"] == 1
