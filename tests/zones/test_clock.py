"""The zone rules scenario by scenario (FORMATS.md "Zones"), without a database: infections
inside, outside and in quarantine, contacts and rounds at known times, each regime at several
instants."""

from __future__ import annotations

import datetime as dt

import pytest

from lianfang.core.facts import CaseFact, PlanFact
from lianfang.core.times import parse_time
from lianfang.protocol import edition
from lianfang.protocol.plans import contact_plan
from lianfang.zones.clock import (
    Change,
    Facts,
    Resident,
    ResultFact,
    RoundFact,
    SampleFact,
    custody_keys,
    state_at,
    zones_status,
)

S_COMM, C_COMM, P_COMM = "350582001004", "350582001005", "350582002001"  # all in Jinjiang 350582
OTHER_COUNTY = "350502001001"  # Licheng
OUTSIDE = "350582003001"


def t(text: str) -> dt.datetime:
    return parse_time(text)


def change(code, type_, at, area=(S_COMM,), name="区域"):
    return Change(zone_code=code, type=type_, name=name, area=tuple(area), designated_at=t(at))


def case(code, community, reported, found_in="screening", id_number=None):
    return CaseFact(
        case_code=code,
        id_type="resident_id",
        id_number=id_number or f"ID{code}",
        community_code=community,
        classification_at_report="confirmed",
        found_in=found_in,
        reported_at=t(reported),
    )


def close_contact(id_number, community, exposure, registered, category="close"):
    plan = contact_plan(edition("p9"), category, t(exposure), t(registered))
    return PlanFact(
        id_type="resident_id",
        id_number=id_number,
        name="密接",
        category=category,
        case_code="C1",
        community_code=community,
        registered_at=t(registered),
        upgraded_at=None,
        plan=plan,
    )


RESIDENTS = [
    Resident(1, "resident_id", "R1", S_COMM, dt.date(1980, 1, 1)),
    Resident(2, "resident_id", "R2", S_COMM, dt.date(2021, 6, 1)),  # under 2 at the round: exempt
    Resident(3, "resident_id", "R3", C_COMM, dt.date(1990, 1, 1)),
]
ROUND = RoundFact(
    code="R1", starts_at=t("2022-03-25 08:00"), scope=("350582",), exempt_born_after=dt.date(2020, 3, 25)
)


def world(at, *, cases=(), plans=(), samples=(), results=(), rounds=(ROUND,)):
    return Facts(
        at=t(at),
        cases=[c for c in cases if c.reported_at <= t(at)],
        plans=[p for p in plans if p.registered_at <= t(at)],
        rounds=rounds,
        residents=RESIDENTS,
        samples=samples,
        results=results,
    )


def status_of(histories, facts):
    return {s.state.zone_code: s.as_json() for s in zones_status(histories, facts)}


SEALED = {"S1": [change("S1", "sealed", "2022-03-10 10:00")]}
CASES = [
    case("A", S_COMM, "2022-03-12 08:00"),  # inside: resets
    case(
        "Q", S_COMM, "2022-03-14 09:00", found_in="quarantine"
    ),  # inside, in quarantine: not under community-2022
    case("O", OUTSIDE, "2022-03-15 09:00"),  # outside
]
PLANS = [close_contact("K1", S_COMM, "2022-03-12 07:00", "2022-03-12 12:00")]  # monitoring ends 03-22 07:00
SAMPLES = [SampleFact("R1", 1, "T1", t("2022-03-25 10:00"))]
NEGATIVE = [ResultFact("T1", "negative", t("2022-03-25 18:00"))]


@pytest.mark.parametrize(
    ("at", "clock_from", "proposal"),
    [
        ("2022-03-11 00:00", "2022-03-10 10:00:00", None),  # designated, nothing inside yet
        ("2022-03-13 00:00", "2022-03-12 08:00:00", None),  # case A inside resets the clock
        ("2022-03-20 00:00", "2022-03-12 08:00:00", None),  # quarantine case Q and outside O ignored
        ("2022-03-26 07:59", "2022-03-12 08:00:00", None),  # one minute before eligible_at
        ("2022-03-26 08:00", "2022-03-12 08:00:00", "lift"),  # 14 d, contacts ended, round in 2 d
        ("2022-03-27 10:00", "2022-03-12 08:00:00", "lift"),  # sample 03-25 10:00 still in [T-2d, T]
        ("2022-03-27 10:01", "2022-03-12 08:00:00", None),  # the sample is now older than 2 days
    ],
)
def test_sealed_zone_community_2022(at, clock_from, proposal):
    got = status_of(SEALED, world(at, cases=CASES, plans=PLANS, samples=SAMPLES, results=NEGATIVE))
    assert got["S1"]["clock_from"] == clock_from
    assert got["S1"]["eligible_at"] == "2022-03-26 08:00:00" or at < "2022-03-12 08:00"
    assert got["S1"]["proposal"] == proposal
    assert got["S1"]["regime"] == "community-2022" and got["S1"]["type"] == "sealed"


def test_eligible_at_is_clock_plus_the_regimes_days():
    got = status_of(SEALED, world("2022-03-13 00:00", cases=CASES))
    assert got["S1"]["eligible_at"] == "2022-03-26 08:00:00"  # report times are Asia/Shanghai


def test_a_contact_still_under_plan_blocks_the_lift():
    late = [*PLANS, close_contact("K2", S_COMM, "2022-03-20 07:00", "2022-03-20 12:00")]  # ends 03-30 07:00
    assert (
        status_of(
            SEALED, world("2022-03-26 09:00", cases=CASES, plans=late, samples=SAMPLES, results=NEGATIVE)
        )["S1"]["proposal"]
        is None
    )
    # a secondary contact or a close contact living elsewhere does not
    other = [
        *PLANS,
        close_contact("K3", S_COMM, "2022-03-20 07:00", "2022-03-20 12:00", category="secondary"),
        close_contact("K4", OUTSIDE, "2022-03-20 07:00", "2022-03-20 12:00"),
    ]
    assert (
        status_of(
            SEALED, world("2022-03-26 09:00", cases=CASES, plans=other, samples=SAMPLES, results=NEGATIVE)
        )["S1"]["proposal"]
        == "lift"
    )


def test_a_contact_who_is_a_case_is_not_counted():
    contact_case = [*CASES, case("K", OUTSIDE, "2022-03-13 08:00", id_number="K2")]
    plans = [*PLANS, close_contact("K2", S_COMM, "2022-03-20 07:00", "2022-03-20 12:00")]
    facts = world("2022-03-26 09:00", cases=contact_case, plans=plans, samples=SAMPLES, results=NEGATIVE)
    assert status_of(SEALED, facts)["S1"]["proposal"] == "lift"


@pytest.mark.parametrize(
    ("samples", "results", "why"),
    [
        ([], [], "nobody sampled"),
        (SAMPLES, [], "the tube has no result yet"),
        (SAMPLES, [ResultFact("T1", "negative", t("2022-03-26 10:00"))], "result reported after T"),
        (SAMPLES, [*NEGATIVE, ResultFact("T1", "inconclusive", t("2022-03-25 20:00"))], "tube abnormal"),
        (
            [*SAMPLES, SampleFact("R1", 2, "T2", t("2022-03-25 11:00"))],
            [*NEGATIVE, ResultFact("T2", "invalid", t("2022-03-25 19:00"))],
            "an exempt resident's sample in an invalid tube",
        ),
        (
            [SampleFact("R1", 1, "T1", t("2022-03-23 10:00"))],
            NEGATIVE,
            "sampled before the window",
        ),
    ],
)
def test_the_round_condition(samples, results, why):
    facts = world("2022-03-26 09:00", cases=CASES, plans=PLANS, samples=samples, results=results)
    assert status_of(SEALED, facts)["S1"]["proposal"] is None, why


def test_a_round_that_does_not_cover_the_area_does_not_count():
    narrow = RoundFact("R1", t("2022-03-25 08:00"), ("350582002",), dt.date(2020, 3, 25))
    facts = world(
        "2022-03-26 09:00", cases=CASES, plans=PLANS, samples=SAMPLES, results=NEGATIVE, rounds=(narrow,)
    )
    assert status_of(SEALED, facts)["S1"]["proposal"] is None


def test_a_resident_in_custody_at_the_start_is_exempt():
    custody = RoundFact(
        "R1", t("2022-03-25 08:00"), ("3505",), dt.date(2020, 3, 25), frozenset({("resident_id", "R1")})
    )
    facts = world("2022-03-26 09:00", cases=CASES, plans=PLANS, samples=[], results=[], rounds=(custody,))
    assert status_of(SEALED, facts)["S1"]["proposal"] == "lift"  # R1 exempt, R2 under 2: nobody to sample


def test_custody_keys():
    plans = [
        close_contact("K1", S_COMM, "2022-03-12 07:00", "2022-03-12 12:00"),  # ends 03-22 07:00
        close_contact("K2", S_COMM, "2022-03-20 07:00", "2022-03-24 12:00"),  # registered after
        close_contact("K3", S_COMM, "2022-03-20 07:00", "2022-03-20 12:00", category="secondary"),
        close_contact("K4", S_COMM, "2022-03-18 07:00", "2022-03-18 12:00"),  # ends 03-28 07:00
    ]
    cases = [case("A", S_COMM, "2022-03-19 08:00"), case("B", S_COMM, "2022-03-22 08:00")]  # B: at the start
    # K1's home monitoring ended 03-22 07:00 (home monitoring counts as custody until it ends)
    assert custody_keys(cases, plans, t("2022-03-22 08:00")) == {
        ("resident_id", "IDA"),
        ("resident_id", "K4"),
    }
    assert ("resident_id", "K1") in custody_keys(cases, plans, t("2022-03-22 06:59"))


CONTROLLED = {"C1": [change("C1", "controlled", "2022-03-10 10:00", area=(C_COMM,))]}


def test_an_infection_inside_a_controlled_zone_proposes_the_upgrade_at_once():
    before = [case("X", C_COMM, "2022-03-10 09:00")]  # before its designation: a reset, no upgrade
    got = status_of(CONTROLLED, world("2022-03-11 00:00", cases=before))
    assert got["C1"] == {
        "zone_code": "C1",
        "type": "controlled",
        "regime": "community-2022",
        "clock_from": "2022-03-10 10:00:00",
        "proposal": None,
        "eligible_at": "2022-03-24 10:00:00",
    }
    after = [*before, case("Y", C_COMM, "2022-03-16 09:00")]
    assert status_of(CONTROLLED, world("2022-03-16 08:59", cases=after))["C1"]["proposal"] is None
    got = status_of(CONTROLLED, world("2022-03-16 09:00", cases=after))["C1"]
    assert (got["proposal"], got["clock_from"]) == ("upgrade", "2022-03-16 09:00:00")
    # found in quarantine: not an infection of the zone under community-2022
    quarantined = [*before, case("Z", C_COMM, "2022-03-16 09:00", found_in="quarantine")]
    assert status_of(CONTROLLED, world("2022-03-17 00:00", cases=quarantined))["C1"]["proposal"] is None


def test_the_upgrade_comes_first_even_when_the_lift_conditions_hold():
    history = {"C1": [change("C1", "controlled", "2022-03-01 10:00", area=(C_COMM,))]}
    cases = [case("Y", C_COMM, "2022-03-26 08:00")]
    assert status_of(history, world("2022-03-26 09:00", cases=cases))["C1"]["proposal"] == "upgrade"


def test_only_a_change_of_type_moves_the_clock_and_history_redraws_a_past_day():
    history = {
        "S1": [
            change("S1", "controlled", "2022-03-10 10:00", area=(C_COMM,)),
            change("S1", "controlled", "2022-03-11 10:00", area=(C_COMM, S_COMM), name="改名"),
            change("S1", "sealed", "2022-03-12 10:00", area=(C_COMM, S_COMM)),
            change("S1", "lifted", "2022-03-28 10:00", area=(C_COMM, S_COMM)),
        ]
    }
    got = status_of(history, world("2022-03-11 12:00"))["S1"]
    assert (got["type"], got["clock_from"]) == ("controlled", "2022-03-10 10:00:00")
    state = state_at(history["S1"], t("2022-03-11 12:00"))
    assert (state.name, state.area) == ("改名", (C_COMM, S_COMM))
    got = status_of(history, world("2022-03-13 00:00"))["S1"]
    assert (got["type"], got["clock_from"]) == ("sealed", "2022-03-12 10:00:00")
    assert status_of(history, world("2022-03-28 10:00")) == {}  # lifted: not listed
    assert status_of(history, world("2022-03-10 09:59")) == {}  # not designated yet


def test_precaution_lifts_with_its_county():
    history = {
        **CONTROLLED,
        "P1": [change("P1", "precaution", "2022-03-10 10:00", area=(P_COMM,))],
        "P2": [change("P2", "precaution", "2022-03-10 10:00", area=(OTHER_COUNTY,))],
    }
    got = status_of(history, world("2022-03-12 00:00"))
    assert (got["P1"]["proposal"], got["P2"]["proposal"]) == (None, "lift")
    history["C1"].append(change("C1", "lifted", "2022-03-25 10:00", area=(C_COMM,)))
    assert status_of(history, world("2022-03-25 09:59"))["P1"]["proposal"] is None
    assert status_of(history, world("2022-03-25 10:00"))["P1"]["proposal"] == "lift"
    assert status_of(history, world("2022-03-12 00:00"))["P1"]["proposal"] is None  # the past is unchanged
    # a p9 high-risk zone in the county is not a sealed or controlled zone: it does not hold P1
    history["H1"] = [change("H1", "high", "2022-03-26 10:00", area=(C_COMM,))]
    assert status_of(history, world("2022-03-27 00:00"))["P1"]["proposal"] == "lift"


P9 = {
    "H1": [change("H1", "high", "2022-06-10 10:00", area=(S_COMM,))],
    "M1": [change("M1", "medium", "2022-06-10 10:00", area=(C_COMM,))],
    "L1": [change("L1", "low", "2022-06-10 10:00", area=(P_COMM,))],
}
P9_ROUND = RoundFact("R9", t("2022-06-18 06:00"), ("350582",), dt.date(2020, 6, 18))


@pytest.mark.parametrize(
    ("at", "h1", "m1"),
    [
        ("2022-06-12 00:00", ("2022-06-11 08:00:00", None), ("2022-06-10 10:00:00", None)),
        (
            "2022-06-18 07:59",
            ("2022-06-11 08:00:00", None),
            ("2022-06-10 10:00:00", None),
        ),  # sampled before 06-17 08:00 is old
        ("2022-06-18 08:00", ("2022-06-11 08:00:00", "downgrade"), ("2022-06-10 10:00:00", None)),
        ("2022-06-19 06:59", ("2022-06-11 08:00:00", "downgrade"), ("2022-06-10 10:00:00", None)),
        (
            "2022-06-19 07:01",
            ("2022-06-11 08:00:00", None),
            ("2022-06-10 10:00:00", None),
        ),  # sample > 1 d old
    ],
)
def test_p9_high_medium_low(at, h1, m1):
    cases = [
        case("Q", S_COMM, "2022-06-11 08:00", found_in="quarantine"),  # p9: found in custody still resets
        case("M", C_COMM, "2022-06-09 08:00"),  # before M1's designation
    ]
    samples = [SampleFact("R9", 1, "T9", t("2022-06-18 07:00"))]  # R3 of M1 never sampled
    results = [ResultFact("T9", "negative", t("2022-06-18 07:30"))]
    got = status_of(P9, world(at, cases=cases, samples=samples, results=results, rounds=(P9_ROUND,)))
    assert (got["H1"]["clock_from"], got["H1"]["proposal"]) == h1
    assert got["H1"]["eligible_at"] == "2022-06-18 08:00:00"
    assert (got["M1"]["clock_from"], got["M1"]["proposal"]) == m1
    assert got["L1"]["proposal"] is None and got["L1"]["regime"] == "p9"


def test_medium_infection_proposes_no_upgrade_and_resets():
    cases = [case("N", C_COMM, "2022-06-15 08:00")]
    got = status_of(P9, world("2022-06-16 00:00", cases=cases, rounds=(P9_ROUND,)))["M1"]
    assert (got["clock_from"], got["proposal"], got["eligible_at"]) == (
        "2022-06-15 08:00:00",
        None,
        "2022-06-22 08:00:00",
    )
