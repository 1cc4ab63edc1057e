"""Reads of transfers, places and stays for the pages and the person panel."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, F, Prefetch, Q
from django.utils import timezone

from lianfang.accounts.masking import mask_id_number
from lianfang.accounts.scoping import Actor
from lianfang.custody import rules, tracing_facts
from lianfang.custody.models import (
    LIVE_STATES,
    Place,
    Stay,
    StayTest,
    TransferOrder,
    TransferState,
    Unit,
)
from lianfang.custody.selectors.monitoring import stay_monitoring
from lianfang.custody.services.stays import end_blockers
from lianfang.edition.services import in_force
from lianfang.people.models import Person

# --- transfers -----------------------------------------------------------------------------------


def transfers(*, actor: Actor, which: str = "live"):
    qs = TransferOrder.objects.visible_to(actor).select_related("person", "destination", "community")
    if which == "live":
        qs = qs.filter(state__in=LIVE_STATES)
    elif which in TransferState.values:
        qs = qs.filter(state=which)
    return qs.order_by("due_at", "id")


def transfer_get(*, actor: Actor, pk: int) -> TransferOrder | None:
    return (
        TransferOrder.objects.visible_to(actor)
        .select_related("person", "destination", "community")
        .filter(pk=pk)
        .first()
    )


@dataclass(frozen=True)
class Need:
    """A person the facts say must be transferred and who has no live order (nor a later one done)."""

    id_type: str
    id_number: str
    id_shown: str
    name: str
    category: str
    case_code: str
    community_code: str
    clock_from: dt.datetime
    due_at: dt.datetime


def needs_transfer(*, actor: Actor, now: dt.datetime | None = None) -> list[Need] | None:
    """Cases and contacts (tracing's facts) in the actor's jurisdiction who need a transfer under
    the edition in force and have none: no live order, no order delivered and no check-in since
    their clock started. None when tracing is not installed."""
    now = now or timezone.now()
    cases, plans = tracing_facts.cases(None), tracing_facts.plans(None)
    if cases is None and plans is None:
        return None
    transfer = in_force().transfer
    found: dict[tuple[str, str], tuple] = {}
    for c in cases or ():
        if actor.covers(c.community_code):
            found[(c.id_type, c.id_number)] = ("", "case", c.case_code, c.community_code, c.reported_at)
    for p in plans or ():
        key = (p.id_type, p.id_number)
        if key in found or transfer.hours_for(p.category) is None or p.plan.ended(now):
            continue
        if actor.covers(p.community_code):
            found[key] = (p.name, p.category, p.case_code, p.community_code, p.upgraded_at or p.registered_at)
    if not found:
        return []
    people = {}
    numbers = sorted({k[1] for k in found})
    for i in range(0, len(numbers), 1000):
        for pid, id_type, id_number, name in (
            Person.objects.dangerously_all()
            .filter(id_number__in=numbers[i : i + 1000])
            .values_list("id", "id_type", "id_number", "name")
        ):
            people[(id_type, id_number)] = (pid, name)
    ids = [pid for pid, _ in people.values()]
    busy: dict[int, dt.datetime | None] = {}  # person → since when they are handled (None: live order)
    for pid in (
        TransferOrder.objects.dangerously_all()
        .filter(person_id__in=ids, state__in=LIVE_STATES)
        .values_list("person_id", flat=True)
    ):
        busy[pid] = None
    for pid, at in (
        TransferOrder.objects.dangerously_all()
        .filter(person_id__in=ids, state=TransferState.DELIVERED)
        .values_list("person_id", "delivered_at")
    ):
        busy.setdefault(pid, at)
        if busy[pid] is not None and at > busy[pid]:
            busy[pid] = at
    for pid, at, ended in (
        Stay.objects.dangerously_all()
        .filter(person_id__in=ids)
        .values_list("person_id", "checked_in_at", "ended_at")
    ):
        if ended is None:
            busy[pid] = None
        elif pid not in busy or (busy[pid] is not None and at > busy[pid]):
            busy[pid] = at
    out = []
    for key, (name, category, case_code, community, clock_from) in found.items():
        pid, registry_name = people.get(key, (None, ""))
        if pid in busy and (busy[pid] is None or busy[pid] >= clock_from):
            continue
        out.append(
            Need(
                id_type=key[0],
                id_number=key[1],
                id_shown=key[1] if actor.sees_personal_data else mask_id_number(key[1]),
                name=registry_name or name,
                category=category,
                case_code=case_code,
                community_code=community,
                clock_from=clock_from,
                due_at=clock_from + dt.timedelta(hours=transfer.hours_for(category)),
            )
        )
    return sorted(out, key=lambda n: (n.due_at, n.id_number))


# --- places ----------------------------------------------------------------------------------


# A stay is open while it has no end; a unit without any stay (the outer join's NULL row) is free.
_OPEN_STAY = Q(units__stays__isnull=False, units__stays__ended_at__isnull=True)


def with_occupancy(places):
    """``places`` with ``units_total``, ``units_used`` (rooms or beds with an open stay),
    ``units_free`` and ``people`` (open stays), derived from stays, never typed in."""
    return places.annotate(
        units_total=Count("units", distinct=True),
        units_used=Count("units", filter=_OPEN_STAY, distinct=True),
        people=Count("units__stays", filter=_OPEN_STAY),
    ).annotate(units_free=F("units_total") - F("units_used"))


def places(*, actor: Actor):
    """The actor's places with their occupancy, derived from open stays."""
    return with_occupancy(Place.objects.visible_to(actor)).order_by("county_code", "code")


def place_get(*, actor: Actor, pk: int) -> Place | None:
    return Place.objects.visible_to(actor).filter(pk=pk).first()


def place_units(place: Place) -> list[Unit]:
    """Every unit of the place with ``occupants`` (its open stays and their people)."""
    open_stays = Stay.objects.dangerously_all().open().select_related("person").order_by("checked_in_at")
    return list(
        Unit.objects.dangerously_all()
        .filter(place=place)
        .prefetch_related(Prefetch("stays", queryset=open_stays, to_attr="occupants"))
        .order_by("label")
    )


def incoming(place: Place) -> list[TransferOrder]:
    """Orders sent to this place whose person is not checked in anywhere: the destination sees
    who is coming (a place's holders must receive people of other jurisdictions)."""
    in_custody = Stay.objects.dangerously_all().open().values("person_id")
    checked_in = Stay.objects.dangerously_all().filter(transfer__isnull=False).values("transfer_id")
    return list(
        TransferOrder.objects.dangerously_all()
        .filter(
            destination=place,
            state__in=[TransferState.ASSIGNED, TransferState.PICKED_UP, TransferState.DELIVERED],
        )
        .exclude(person_id__in=in_custody)
        .exclude(pk__in=checked_in)
        .select_related("person")
        .order_by("due_at")[:200]
    )


# --- stays -----------------------------------------------------------------------------------


def stays(*, actor: Actor, which: str = "open"):
    qs = Stay.objects.visible_to(actor).select_related("person", "unit__place")
    if which == "open":
        qs = qs.open()
    return qs.order_by("-checked_in_at", "id")


def stay_get(*, actor: Actor, pk: int) -> Stay | None:
    return Stay.objects.visible_to(actor).select_related("person", "unit__place").filter(pk=pk).first()


def stay_view(stay: Stay, actor: Actor, now: dt.datetime | None = None) -> dict:
    """A stay's tests, the plan's test days and whether (and why not) it may end now."""
    now = now or timezone.now()
    tests = list(StayTest.objects.filter(stay=stay).order_by("sampled_at", "id"))
    plan = None
    if not stay.unit.place.treats:
        plans = tracing_facts.plans_by_key(now)
        plan = (plans or {}).get((stay.person.id_type, stay.person.id_number))
        days = rules.test_days(
            plan, stay.checked_in_at, [rules.Test(t.sampled_at, t.result, t.ct_n, t.ct_orf1ab) for t in tests]
        )
    else:
        days = []
    held = actor.covers(stay.unit.place.community_id)
    # After a discharge: its monitoring, the home jurisdiction's alone (the place sees the stay).
    monitoring = stay_monitoring(stay, actor, now)
    if stay.ended_at is not None and monitoring is None:
        tests = [t for t in tests if t.sampled_at < stay.ended_at]
    return {
        "tests": tests,
        "monitoring": monitoring,
        "plan": plan,
        "test_days": days,
        "tracing_installed": tracing_facts.installed(),
        "blockers": end_blockers(stay, now) if stay.ended_at is None else [],
        "held": held,
    }


# --- the person page -------------------------------------------------------------------------


def person_transfers(person: Person) -> list[TransferOrder]:
    return list(
        TransferOrder.objects.dangerously_all()
        .filter(person=person)
        .select_related("destination")
        .order_by("-created_at")[:20]
    )


def person_stays(person: Person) -> list[Stay]:
    return list(
        Stay.objects.dangerously_all()
        .filter(person=person)
        .select_related("unit__place")
        .order_by("-checked_in_at")[:20]
    )
