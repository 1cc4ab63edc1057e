"""Stays: check-in to a room or bed under a lock on the place, tests, release and discharge."""

from __future__ import annotations

import datetime as dt
import math

from django.db import IntegrityError, transaction

from lianfang.accounts.scoping import Actor, require
from lianfang.accounts.services import audit_record
from lianfang.custody import rules, tracing_facts
from lianfang.custody.models import (
    Place,
    Stay,
    StayEnd,
    StayTest,
    TestResult,
    TransferOrder,
    TransferState,
    Unit,
)
from lianfang.custody.services.common import (
    MESSAGES,
    CustodyError,
    check_id,
    not_future,
    now_or,
    person_for,
    refuse,
)
from lianfang.edition.services import in_force
from lianfang.protocol import after_discharge
from lianfang.protocol import edition as edition_of


def _held(actor: Actor | None, place: Place) -> None:
    if actor is not None and not actor.covers(place.community_id):
        raise refuse("unknown_place")


def _free_unit(place: Place, *, label: str, household: str) -> Unit:
    """The unit to take: the one named, else the first empty one, else (a household placed
    together) a unit holding only that household with a bed left. Runs under the place's lock."""
    open_stays = Stay.objects.dangerously_all().open()

    def fits(unit: Unit) -> bool:
        """Empty, or holding only ``household`` with a bed left."""
        held = list(open_stays.filter(unit=unit).values_list("household", flat=True))
        return not held or (bool(household) and len(held) < unit.beds and all(h == household for h in held))

    if label:
        unit = Unit.objects.dangerously_all().filter(place=place, label=label).first()
        if unit is None:
            raise refuse("unknown_unit")
        if fits(unit):
            return unit
        raise refuse("unit_taken")
    unit = (
        Unit.objects.dangerously_all()
        .filter(place=place)
        .exclude(pk__in=open_stays.filter(unit__place=place).values("unit_id"))
        .order_by("label")
        .first()
    )
    if unit is None and household:
        shared = open_stays.filter(unit__place=place, household=household).values_list("unit_id", flat=True)
        candidates = Unit.objects.dangerously_all().filter(pk__in=list(shared)).order_by("label")
        unit = next((u for u in candidates if fits(u)), None)
    if unit is None:
        raise refuse("place_full")
    return unit


@transaction.atomic
def stay_check_in(
    *,
    actor: Actor | None,
    place: Place,
    id_type: str,
    id_number: str,
    name: str = "",
    unit_label: str = "",
    household: str = "",
    case_code: str = "",
    at: dt.datetime | None = None,
) -> Stay:
    """Check a person in: one room per person unless a household is placed together.

    The place's row is locked (``SELECT … FOR UPDATE``) before its free units are counted, so
    two check-ins at one place are decided one after the other and can never take the same bed.
    """
    require(actor, "stay.manage")
    now = now_or(None)
    at = at or now
    not_future(at, now)
    id_type, id_number = check_id(id_type, id_number)
    household = (household or "").strip()[:32]
    place = Place.objects.dangerously_all().select_for_update().filter(pk=place.pk).first()
    if place is None:
        raise refuse("unknown_place")
    _held(actor, place)
    person = person_for(id_type=id_type, id_number=id_number, name=name, now=now)
    if Stay.objects.dangerously_all().open().filter(person=person).exists():
        raise refuse("already_in_custody")
    unit = _free_unit(place, label=(unit_label or "").strip(), household=household)
    transfer = (
        TransferOrder.objects.dangerously_all()
        .filter(person=person, state=TransferState.DELIVERED)
        .order_by("-delivered_at")
        .first()
    )
    home = person.community_id or (transfer.community_id if transfer else "")
    stay = Stay(
        person=person,
        unit=unit,
        home_community=home,
        home_town=home[:9],
        home_county=home[:6],
        household=household,
        case_code=(case_code or (transfer.case_code if transfer else "")).strip()[:32],
        edition=in_force().code,
        transfer=transfer,
        checked_in_at=at,
        created_by=getattr(actor, "user", None),
    )
    try:
        with transaction.atomic():
            stay.save(force_insert=True)
    except IntegrityError:
        raise refuse("already_in_custody") from None
    audit_record(
        actor=actor,
        action="check_in",
        object_type="stay",
        object_id=stay.pk,
        detail={"person": person.pk, "place": place.code, "unit": unit.label},
    )
    return stay


def _open_stay(actor: Actor | None, stay: Stay) -> Stay:
    stay = (
        Stay.objects.dangerously_all()
        .select_for_update()
        .select_related("unit__place", "person")
        .get(pk=stay.pk)
    )
    _held(actor, stay.unit.place)
    if stay.ended_at is not None:
        raise refuse("stay_ended")
    return stay


def _ct(value) -> float | None:
    if value is None or value == "":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise refuse("bad_ct") from None
    if not math.isfinite(number) or not 0 <= number <= 50:
        raise refuse("bad_ct")
    return number


@transaction.atomic
def stay_test_record(
    *,
    actor: Actor | None,
    stay: Stay,
    sampled_at: dt.datetime | None,
    result: str,
    ct_n=None,
    ct_orf1ab=None,
) -> StayTest:
    """A test taken during the stay (by the place that holds the person), or, once the stay ended
    in a discharge, a test of the home health monitoring (by the person's home jurisdiction)."""
    ended = Stay.objects.dangerously_all().filter(pk=stay.pk, end_kind=StayEnd.DISCHARGED).first()
    if ended is not None:
        return _monitoring_test(
            actor, ended, sampled_at=sampled_at, result=result, ct_n=ct_n, ct_orf1ab=ct_orf1ab
        )
    require(actor, "stay.manage")
    stay = _open_stay(actor, stay)
    now = now_or(None)
    if sampled_at is None:
        raise refuse("bad_time")
    not_future(sampled_at, now)
    if sampled_at < stay.checked_in_at:
        raise refuse("before_check_in")
    if result not in TestResult.values:
        raise refuse("bad_result")
    return _test_store(actor, stay, "stay_test", sampled_at, result, ct_n, ct_orf1ab, now)


def home_covers(actor: Actor | None, stay: Stay) -> bool:
    """Whether ``actor`` is the stay's home jurisdiction (None: the server's authority). A stay
    whose home is unknown has none: nobody but the server records its monitoring."""
    return actor is None or (bool(stay.home_community) and actor.covers(stay.home_community))


def _monitoring_test(
    actor: Actor | None, stay: Stay, *, sampled_at: dt.datetime | None, result: str, ct_n, ct_orf1ab
) -> StayTest:
    """A test of the home health monitoring after ``stay``'s discharge: the community worker or
    the medical staff of the person's home jurisdiction, sampled inside the window the stay's
    edition gives (``rules.in_window``)."""
    require(actor, "monitoring.record")
    if not home_covers(actor, stay):
        raise refuse("person_out_of_jurisdiction")
    now = now_or(None)
    if sampled_at is None:
        raise refuse("bad_time")
    not_future(sampled_at, now)
    if result not in TestResult.values:
        raise refuse("bad_result")
    plan = after_discharge(edition_of(stay.edition), stay.ended_at)
    if not rules.in_window(plan, sampled_at):
        first, last = plan.discharged_at, plan.closes_at - dt.timedelta(minutes=1)
        window = f"{first:%Y-%m-%d %H:%M} — {last:%Y-%m-%d %H:%M}"
        zh, en = MESSAGES["outside_monitoring"]
        raise CustodyError("outside_monitoring", f"{zh}（{window}）", f"{en} ({window})")
    return _test_store(actor, stay, "monitoring_test", sampled_at, result, ct_n, ct_orf1ab, now)


def _test_store(actor, stay: Stay, action: str, sampled_at, result: str, ct_n, ct_orf1ab, now) -> StayTest:
    """Store a checked test of ``stay`` and audit it as ``action``."""
    test = StayTest.objects.create(
        stay=stay,
        sampled_at=sampled_at,
        result=result,
        ct_n=_ct(ct_n),
        ct_orf1ab=_ct(ct_orf1ab),
        recorded_at=now,
        recorded_by=getattr(actor, "user", None),
    )
    audit_record(
        actor=actor,
        action=action,
        object_type="stay",
        object_id=stay.pk,
        detail={"result": result, "sampled_at": sampled_at.isoformat()},
    )
    return test


def tests_of(stay: Stay) -> list[rules.Test]:
    return [
        rules.Test(t.sampled_at, t.result, t.ct_n, t.ct_orf1ab)
        for t in StayTest.objects.filter(stay=stay).order_by("sampled_at", "id")
    ]


def end_blockers(stay: Stay, at: dt.datetime) -> list[str]:
    """Why ``stay`` may not end at ``at`` (release from a hotel, discharge from a bed)."""
    tests = tests_of(stay)
    if stay.unit.place.treats:
        return rules.discharge_blockers(edition_of(stay.edition), tests)
    key = (stay.person.id_type, stay.person.id_number)
    plans, cases = tracing_facts.plans_by_key(at), tracing_facts.cases_by_key(at)
    return rules.release_blockers(
        tracing_installed=plans is not None,
        is_case=bool(cases and key in cases),
        plan=(plans or {}).get(key),
        checked_in_at=stay.checked_in_at,
        tests=tests,
        at=at,
    )


@transaction.atomic
def stay_end(
    *, actor: Actor | None, stay: Stay, return_home: str = "", at: dt.datetime | None = None
) -> Stay:
    """Release (a contact, from isolation: plan ended, its test days negative, 点对点 return home
    recorded) or discharge (a case, from a bed: the discharge rule). Refused with every reason."""
    require(actor, "stay.manage")
    stay = _open_stay(actor, stay)
    now = now_or(None)
    at = at or now
    not_future(at, now)
    return_home = (return_home or "").strip()[:200]
    blockers = end_blockers(stay, at)
    if not stay.unit.place.treats and not return_home:
        blockers.append("missing_return_home")
    if blockers:
        raise refuse(blockers[0])
    stay.ended_at = at
    stay.end_kind = StayEnd.DISCHARGED if stay.unit.place.treats else StayEnd.RELEASED
    stay.return_home = return_home
    stay.save(update_fields=["ended_at", "end_kind", "return_home"])
    audit_record(
        actor=actor,
        action=stay.end_kind,
        object_type="stay",
        object_id=stay.pk,
        detail={"person": stay.person_id, "at": at.isoformat(), "return_home": return_home},
    )
    return stay
