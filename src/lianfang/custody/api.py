"""/api/v1/custody: transfer orders and their steps, places with their occupancy, check-in, for the
transfer teams' and the isolation places' systems.

Reads go through the pages' selectors (``visible_to``: an order lies where its person is picked up,
a place where it stands; "not yours" is the same 404 as "not there"). A read showing people needs
``persons.read``, masks them unless the role needs them and writes one audit event; occupancy is
counted from open stays and names nobody. Writes call the pages' services (role, jurisdiction,
the state machine, the place's lock), which audit them; a refusal answers
``{"detail": "中文 / English"}`` (409 when it conflicts with what is stored).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager

from django.http import Http404
from django.utils import timezone
from ninja import Router, Schema
from ninja.errors import HttpError

from lianfang.accounts.scoping import Actor, require
from lianfang.accounts.services import audit_record
from lianfang.core.fields import API_READS_PEOPLE, api_choice, api_page, api_text, api_time
from lianfang.custody import selectors
from lianfang.custody.models import Place, Stay, TransferOrder, TransferState, Unit
from lianfang.custody.services import CustodyError, stay_check_in, transfer_move
from lianfang.custody.services.transfers import ACTIONS
from lianfang.people.models import Person
from lianfang.people.presenters import person_public

router = Router(tags=["custody"])


# Refusals that conflict with what is stored (the state machine, a taken bed, a person already
# in custody or with a live order): 409; the others are the request's fault: 400.
CONFLICTS = frozenset(
    {"bad_transition", "transfer_live", "already_in_custody", "place_full", "unit_taken", "stay_ended"}
)

StateFilter = api_choice(
    ("live", *TransferState.values, "all"), zh="状态须为以下之一", en="state must be one of"
)
Action = api_choice(ACTIONS, zh="操作须为以下之一", en="action must be one of")
_order, _stay, _person = TransferOrder._meta.get_field, Stay._meta.get_field, Person._meta.get_field


@contextmanager
def _refusals() -> Iterator[None]:
    try:
        yield
    except CustodyError as exc:
        raise HttpError(409 if exc.code in CONFLICTS else 400, str(exc)) from exc


# --- schemas ---------------------------------------------------------------------------------


class PersonShown(Schema):
    id: int
    id_type: str
    id_number: str
    name: str
    phone: str
    community_code: str
    masked: bool


class TransferOut(Schema):
    id: int
    state: str
    category: str
    case_code: str
    person: PersonShown
    community_code: str
    destination: str | None
    vehicle: str
    crew: str
    edition: str
    clock_from: dt.datetime
    due_at: dt.datetime
    late: bool
    created_at: dt.datetime
    assigned_at: dt.datetime | None
    picked_up_at: dt.datetime | None
    delivered_at: dt.datetime | None
    cancelled_at: dt.datetime | None
    cancel_reason: str


class TransitionIn(Schema):
    action: Action
    vehicle: api_text(_order("vehicle")) = ""
    crew: api_text(_order("crew")) = ""
    destination: api_text(Place._meta.get_field("code")) = ""
    reason: api_text(_order("cancel_reason")) = ""
    at: api_time() | None = None


class PlaceOut(Schema):
    id: int
    code: str
    name: str
    kind: str
    community_code: str
    units_total: int
    units_used: int
    units_free: int
    people: int


class UnitOut(Schema):
    label: str
    beds: int
    taken: int
    free: bool


class PlaceDetailOut(PlaceOut):
    units: list[UnitOut]


class CheckInIn(Schema):
    id_type: api_text(_person("id_type")) = ""
    id_number: api_text(_person("id_number"))
    name: api_text(_person("name")) = ""
    unit: api_text(Unit._meta.get_field("label")) = ""
    household: api_text(_stay("household")) = ""


class StayOut(Schema):
    id: int
    place: str
    unit: str
    household: str
    person: PersonShown
    checked_in_at: dt.datetime


# --- presenting --------------------------------------------------------------------------------


def _person(person: Person, actor: Actor) -> dict:
    shown = person_public(person, actor)
    return {k: shown[k] for k in ("id", "id_type", "id_number", "name", "phone", "community_code", "masked")}


def _transfer_out(order: TransferOrder, actor: Actor, now: dt.datetime) -> dict:
    return {
        "id": order.pk,
        "state": order.state,
        "category": order.category,
        "case_code": order.case_code,
        "person": _person(order.person, actor),
        "community_code": order.community_id or "",
        "destination": order.destination.code if order.destination_id else None,
        "vehicle": order.vehicle,
        "crew": order.crew,
        "edition": order.edition,
        "clock_from": order.clock_from,
        "due_at": order.due_at,
        "late": order.live and order.due_at < now,
        "created_at": order.created_at,
        "assigned_at": order.assigned_at,
        "picked_up_at": order.picked_up_at,
        "delivered_at": order.delivered_at,
        "cancelled_at": order.cancelled_at,
        "cancel_reason": order.cancel_reason,
    }


def _place_out(place: Place) -> dict:
    return {
        "id": place.pk,
        "code": place.code,
        "name": place.name,
        "kind": place.kind,
        "community_code": place.community_id or "",
        "units_total": place.units_total,
        "units_used": place.units_used,
        "units_free": place.units_free,
        "people": place.people,
    }


# --- transfers -------------------------------------------------------------------------------


@router.get(
    "/transfers",
    response=list[TransferOut],
    openapi_extra=API_READS_PEOPLE,
)
def transfers(request, state: StateFilter = "live", limit: int = 100, offset: int = 0):
    """The token's transfer orders by due time (``live``: requested, assigned or picked up)."""
    actor: Actor = request.auth
    require(actor, "persons.read")
    now = timezone.now()
    orders = selectors.transfers(actor=actor, which=state)[api_page(limit, offset)]
    rows = [_transfer_out(o, actor, now) for o in orders]
    audit_record(
        actor=actor,
        action="view",
        object_type="transfers",
        object_id=state,
        detail={"orders": len(rows), "offset": offset, "masked": not actor.sees_personal_data, "api": True},
    )
    return rows


@router.post("/transfers/{order_id}/transition", response=TransferOut)
def transfer_transition(request, order_id: int, body: TransitionIn):
    """One step of the order's state machine: ``assign`` (vehicle and crew, a destination),
    ``pick_up``, ``deliver``, or ``cancel`` with a reason; ``at`` defaults to now."""
    actor: Actor = request.auth
    order = selectors.transfer_get(actor=actor, pk=order_id)
    if order is None:
        raise Http404  # the same answer for not there and not yours
    with _refusals():
        transfer_move(
            actor=actor,
            order=order,
            action=body.action,
            vehicle=body.vehicle,
            crew=body.crew,
            destination_code=body.destination,
            reason=body.reason,
            at=body.at,
        )
    return _transfer_out(selectors.transfer_get(actor=actor, pk=order.pk), actor, timezone.now())


# --- places ----------------------------------------------------------------------------------


@router.get("/places", response=list[PlaceOut])
def places(request, limit: int = 100, offset: int = 0):
    """The token's places with their occupancy, counted from open stays (no one named)."""
    return [_place_out(p) for p in selectors.places(actor=request.auth)[api_page(limit, offset)]]


@router.get("/places/{place_id}", response=PlaceDetailOut)
def place(request, place_id: int):
    """A place with each room or bed: how many are in it, whether it is free."""
    actor: Actor = request.auth
    found = selectors.places(actor=actor).filter(pk=place_id).first()
    if found is None:
        raise Http404
    units = [
        {"label": u.label, "beds": u.beds, "taken": len(u.occupants), "free": not u.occupants}
        for u in selectors.place_units(found)
    ]
    return {**_place_out(found), "units": units}


@router.post("/places/{place_id}/check-in", response=StayOut)
def check_in(request, place_id: int, body: CheckInIn):
    """Check a person in (the first free room or bed, or the one named; a household placed
    together gives one household number), decided under the place's lock."""
    actor: Actor = request.auth
    found = selectors.place_get(actor=actor, pk=place_id)
    if found is None:
        raise Http404
    with _refusals():
        stay = stay_check_in(
            actor=actor,
            place=found,
            id_type=body.id_type,
            id_number=body.id_number,
            name=body.name,
            unit_label=body.unit,
            household=body.household,
        )
    return {
        "id": stay.pk,
        "place": found.code,
        "unit": stay.unit.label,
        "household": stay.household,
        "person": _person(stay.person, actor),
        "checked_in_at": stay.checked_in_at,
    }
