"""Places, check-in (one person per room unless a household), release by the plan, discharge by
the Ct rule, and the facts custody states (discharges, who is in custody, overdue)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from lianfang.accounts.roles import Role
from lianfang.core import plugins
from lianfang.core.times import SHANGHAI
from lianfang.custody import selectors
from lianfang.custody.models import Stay, StayEnd
from lianfang.custody.services import CustodyError, place_create, stay_check_in, stay_end, stay_test_record
from lianfang.custody.services.places import parse_units
from tests.conftest import JINJIANG, JJ_COMMUNITY, LC_COMMUNITY, actor, make_person, make_user, rid
from tests.custody.helpers import case_fact, make_place, plan_fact, tracing  # noqa: F401

A, B, C = (rid("350582", "19800101", s) for s in ("111", "112", "113"))


@pytest.fixture
def staff(db):
    return actor(make_user("jj_hotel", Role.ISOLATION, [JINJIANG]))


@pytest.fixture
def people(db):
    return [make_person(id_number=n, name=f"入住{i}") for i, n in enumerate((A, B, C))]


def check_in(staff, place, number, **kw):
    return stay_check_in(actor=staff, place=place, id_type="resident_id", id_number=number, **kw)


def test_units_are_parsed_from_ranges():
    assert parse_units("101-103, 201；A1") == ["101", "102", "103", "201", "A1"]
    assert parse_units("B-01-03") == ["B-01", "B-02", "B-03"]
    for bad in ("", "5-1", "1-5000", "101,101"):
        with pytest.raises(CustodyError):
            parse_units(bad)


def test_place_needs_the_jurisdiction_of_its_community(db):
    office = actor(make_user("jj_wg", Role.WORKING_GROUP, [JINJIANG]))
    with pytest.raises(CustodyError) as exc:
        place_create(
            actor=office, code="X", name="鲤城酒店", kind="hotel", community_code=LC_COMMUNITY, units="1-2"
        )
    assert exc.value.code == "unknown_community"
    place = place_create(
        actor=office, code="X", name="晋江酒店", kind="hotel", community_code=JJ_COMMUNITY, units="1-2"
    )
    assert place.units.count() == 2
    with pytest.raises(CustodyError) as exc:
        place_create(
            actor=office, code="X", name="又一个", kind="hotel", community_code=JJ_COMMUNITY, units="1"
        )
    assert exc.value.code == "code_taken"


def test_one_person_per_room_and_occupancy_from_stays(staff, people):
    place = make_place("JJ-H1", JJ_COMMUNITY, units="101-102")
    first = check_in(staff, place, A)
    second = check_in(staff, place, B)
    assert {first.unit.label, second.unit.label} == {"101", "102"}
    with pytest.raises(CustodyError) as exc:
        check_in(staff, place, C)
    assert exc.value.code == "place_full"
    with pytest.raises(CustodyError) as exc:
        check_in(staff, place, C, unit_label="101")
    assert exc.value.code == "unit_taken"
    row = selectors.places(actor=staff).get(pk=place.pk)
    assert (row.units_total, row.units_used, row.units_free, row.people) == (2, 2, 0, 2)


def test_a_household_is_placed_together_up_to_the_rooms_beds(staff, people):
    place = make_place("JJ-H2", JJ_COMMUNITY, units="101", beds=2)
    check_in(staff, place, A, household="H-7")
    with pytest.raises(CustodyError):  # another household may not share
        check_in(staff, place, B, household="H-8")
    with pytest.raises(CustodyError):  # nor somebody without one
        check_in(staff, place, B)
    assert check_in(staff, place, B, household="H-7").unit.label == "101"
    with pytest.raises(CustodyError) as exc:  # two beds, two people
        check_in(staff, place, C, household="H-7")
    assert exc.value.code == "place_full"


def test_a_bed_holds_one_person_whatever_the_household(staff, people):
    place = make_place("JJ-F1", JJ_COMMUNITY, kind="fangcang", units="1", beds=4)
    check_in(staff, place, A, household="H-7")
    with pytest.raises(CustodyError):
        check_in(staff, place, B, household="H-7")


def test_one_open_stay_per_person(staff, people):
    place = make_place("JJ-H3", JJ_COMMUNITY)
    check_in(staff, place, A)
    with pytest.raises(CustodyError) as exc:
        check_in(staff, place, A)
    assert exc.value.code == "already_in_custody"


def test_check_in_needs_the_places_jurisdiction(people):
    place = make_place("LC-H1", LC_COMMUNITY)
    jj_staff = actor(make_user("jj_staff2", Role.ISOLATION, [JINJIANG]))
    with pytest.raises(CustodyError) as exc:
        check_in(jj_staff, place, A)
    assert exc.value.code == "unknown_place"
    assert not Stay.objects.exists()


# --- release from isolation (a contact) ------------------------------------------------------


def _t(day: dt.date, hour: int = 9) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=SHANGHAI)


@pytest.fixture
def quarantined(staff, people, tracing):  # noqa: F811
    """A close contact (p9: 7 days central, tests days 1, 2, 3, 5, 7) checked in on day 0."""
    exposure = timezone.now().astimezone(SHANGHAI) - dt.timedelta(days=8)
    fact = plan_fact(people[0], last_exposure=exposure, registered_at=exposure + dt.timedelta(hours=2))
    tracing.PLANS.append(fact)
    place = make_place("JJ-H4", JJ_COMMUNITY)
    stay = check_in(staff, place, A, at=exposure + dt.timedelta(hours=5))
    return stay, fact


def test_release_needs_every_test_day_negative_and_the_return_home(staff, quarantined):
    stay, fact = quarantined
    days = [d for d in fact.plan.test_days if d <= fact.plan.ends_at.astimezone(SHANGHAI).date()]
    assert len(days) == 5
    for day in days[:-1]:
        stay_test_record(actor=staff, stay=stay, sampled_at=_t(day), result="negative")
    with pytest.raises(CustodyError) as exc:
        stay_end(actor=staff, stay=stay, return_home="闽C00001 陪同：李")
    assert exc.value.code == "tests_missing"
    assert [d.day for d in selectors.stay_view(stay, staff)["test_days"] if not d.done] == days[-1:]
    stay_test_record(actor=staff, stay=stay, sampled_at=_t(days[-1]), result="negative")
    with pytest.raises(CustodyError) as exc:
        stay_end(actor=staff, stay=stay, return_home="")
    assert exc.value.code == "missing_return_home"
    ended = stay_end(actor=staff, stay=stay, return_home="闽C00001 陪同：李")
    assert ended.end_kind == StayEnd.RELEASED and ended.return_home == "闽C00001 陪同：李"
    released = plugins.provider("discharges_as_of")(None)
    assert [(r.id_number, r.kind, r.case_code) for r in released] == [(A, "released", "")]


def test_release_waits_for_the_plan_to_end(staff, quarantined):
    stay, fact = quarantined
    for day in fact.plan.test_days:
        if day <= fact.plan.ends_at.astimezone(SHANGHAI).date():
            stay_test_record(actor=staff, stay=stay, sampled_at=_t(day), result="negative")
    early = fact.plan.ends_at - dt.timedelta(minutes=1)
    with pytest.raises(CustodyError) as exc:
        stay_end(actor=staff, stay=stay, return_home="x", at=early)
    assert exc.value.code == "plan_not_ended"
    stay_end(actor=staff, stay=stay, return_home="x", at=fact.plan.ends_at)


def test_a_positive_test_blocks_release(staff, quarantined):
    stay, fact = quarantined
    for day in fact.plan.test_days:
        if day <= fact.plan.ends_at.astimezone(SHANGHAI).date():
            stay_test_record(actor=staff, stay=stay, sampled_at=_t(day), result="negative")
    stay_test_record(actor=staff, stay=stay, sampled_at=_t(fact.plan.test_days[0], 15), result="positive")
    with pytest.raises(CustodyError) as exc:
        stay_end(actor=staff, stay=stay, return_home="x")
    assert exc.value.code == "not_negative"


def test_release_without_tracing_is_refused_as_unknown(staff, people, without_tracing):
    stay = check_in(staff, make_place("JJ-H5", JJ_COMMUNITY), A)
    with pytest.raises(CustodyError) as exc:
        stay_end(actor=staff, stay=stay, return_home="x")
    assert exc.value.code == "tracing_absent"


def test_a_case_is_not_released_from_a_hotel(staff, people, tracing):  # noqa: F811
    tracing.CASES.append(case_fact(people[0], reported_at=timezone.now() - dt.timedelta(days=1)))
    stay = check_in(staff, make_place("JJ-H6", JJ_COMMUNITY), A)
    with pytest.raises(CustodyError) as exc:
        stay_end(actor=staff, stay=stay, return_home="x")
    assert exc.value.code == "is_a_case"


def test_test_records_are_checked(staff, people):
    stay = check_in(staff, make_place("JJ-H7", JJ_COMMUNITY), A, at=timezone.now() - dt.timedelta(hours=3))
    cases = [
        ({"sampled_at": timezone.now() - dt.timedelta(hours=5), "result": "negative"}, "before_check_in"),
        ({"sampled_at": timezone.now() + dt.timedelta(hours=1), "result": "negative"}, "future_time"),
        ({"sampled_at": timezone.now(), "result": "阴"}, "bad_result"),
        ({"sampled_at": timezone.now(), "result": "negative", "ct_n": "abc"}, "bad_ct"),
        ({"sampled_at": timezone.now(), "result": "negative", "ct_n": "nan"}, "bad_ct"),
        ({"sampled_at": timezone.now(), "result": "negative", "ct_orf1ab": "51"}, "bad_ct"),
        ({"sampled_at": None, "result": "negative"}, "bad_time"),
    ]
    for fields, code in cases:
        with pytest.raises(CustodyError) as exc:
            stay_test_record(actor=staff, stay=stay, **fields)
        assert exc.value.code == code, fields
    assert not stay.tests.exists()


# --- discharge from a bed (a case) -----------------------------------------------------------


def test_discharge_by_the_ct_rule(staff, people):
    start = timezone.now() - dt.timedelta(days=10)
    stay = check_in(staff, make_place("JJ-F2", JJ_COMMUNITY, kind="fangcang", units="1-5"), A, at=start)
    first = start + dt.timedelta(days=7)
    stay_test_record(actor=staff, stay=stay, sampled_at=first, result="negative", ct_n="36", ct_orf1ab="37")
    stay_test_record(
        actor=staff,
        stay=stay,
        sampled_at=first + dt.timedelta(hours=23),
        result="negative",
        ct_n="36",
        ct_orf1ab="36",
    )
    with pytest.raises(CustodyError) as exc:  # 23 h apart is not 24
        stay_end(actor=staff, stay=stay)
    assert exc.value.code == "discharge_not_ready"
    stay_test_record(
        actor=staff,
        stay=stay,
        sampled_at=first + dt.timedelta(hours=24),
        result="negative",
        ct_n="35",
        ct_orf1ab="34.9",
    )
    with pytest.raises(CustodyError):  # ORF1ab 34.9 < 35
        stay_end(actor=staff, stay=stay)
    stay_test_record(
        actor=staff,
        stay=stay,
        sampled_at=first + dt.timedelta(hours=25),
        result="negative",
        ct_n="35",
        ct_orf1ab="35",
    )
    stay_test_record(
        actor=staff,
        stay=stay,
        sampled_at=first + dt.timedelta(hours=50),
        result="negative",
        ct_n="38",
        ct_orf1ab="39",
    )
    ended = stay_end(actor=staff, stay=stay)
    assert ended.end_kind == StayEnd.DISCHARGED


def test_facts_in_custody_and_discharges_as_of(staff, people):
    t0 = timezone.now() - dt.timedelta(days=3)
    place = make_place("JJ-F3", JJ_COMMUNITY, kind="designated_hospital", units="1-5")
    stay = check_in(staff, place, A, at=t0)
    in_custody = plugins.provider("in_custody.custody")
    assert in_custody(t0 - dt.timedelta(seconds=1)) == set()
    assert in_custody(t0) == {people[0].pk}
    for h in (0, 30):
        stay_test_record(
            actor=staff,
            stay=stay,
            sampled_at=t0 + dt.timedelta(hours=h + 1),
            result="negative",
            ct_n="40",
            ct_orf1ab="40",
        )
    end = t0 + dt.timedelta(days=2)
    stay_end(actor=staff, stay=stay, at=end)
    assert in_custody(end - dt.timedelta(seconds=1)) == {people[0].pk}
    assert in_custody(end) == set()
    discharges = plugins.provider("discharges_as_of")
    assert discharges(end - dt.timedelta(seconds=1)) == []
    [fact] = discharges(end)
    assert (fact.kind, fact.id_number, fact.community_code, fact.at) == ("discharged", A, JJ_COMMUNITY, end)


def test_overdue_transfers_and_test_days(staff, people, tracing):  # noqa: F811
    from lianfang.custody.services import transfer_request

    office = actor(make_user("jj_office9", Role.COMMAND_OFFICE, [JINJIANG]))
    lc_office = actor(make_user("lc_office9", Role.COMMAND_OFFICE, ["350502"]))
    start = timezone.now() - dt.timedelta(hours=9)
    order = transfer_request(
        actor=None, id_type="resident_id", id_number=B, category="close", clock_from=start
    )
    exposure = timezone.now().astimezone(SHANGHAI) - dt.timedelta(days=3)
    tracing.PLANS.append(plan_fact(people[0], last_exposure=exposure, registered_at=exposure))
    stay = check_in(staff, make_place("JJ-H8", JJ_COMMUNITY), A, at=exposure + dt.timedelta(hours=1))
    overdue = plugins.provider("overdue.custody")
    found = overdue(office, None)
    assert found[0].due_at >= found[-1].due_at  # newest breach first
    kinds = sorted((o.kind, o.ref) for o in found)
    day1 = (exposure + dt.timedelta(days=1)).date()
    day2 = (exposure + dt.timedelta(days=2)).date()
    assert kinds == sorted(
        [
            ("transfer", f"transfer:{order.pk}"),
            ("test_day", f"test_day:{stay.pk}:{day1.isoformat()}"),
            ("test_day", f"test_day:{stay.pk}:{day2.isoformat()}"),
        ]
    )
    stay_test_record(actor=staff, stay=stay, sampled_at=_t(day1), result="negative")
    assert len(overdue(office, None)) == 2
    # As things stood before the transfer's clock ran out: not overdue yet.
    assert not [o for o in overdue(office, start + dt.timedelta(hours=7)) if o.kind == "transfer"]
    assert overdue(lc_office, None) == []
