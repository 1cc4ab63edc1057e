"""Transfer orders (转运): requested with the protocol's clock, then one state machine
requested → assigned → picked up → delivered, or cancelled with a reason (``TransferOrder``'s
django-fsm transitions). One live order per person is held by a partial unique index."""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction
from django_fsm import TransitionNotAllowed

from lianfang.accounts.scoping import Actor, require
from lianfang.accounts.services import audit_record
from lianfang.custody.models import Place, Stay, TransferCategory, TransferOrder
from lianfang.custody.services.common import (
    check_id,
    community_for,
    located,
    not_future,
    now_or,
    person_for,
    refuse,
)
from lianfang.edition.services import in_force


def _destination(code: str) -> Place | None:
    """Any place of the city may receive a person (a place is infrastructure, not personal data)."""
    code = (code or "").strip()
    if not code:
        return None
    place = Place.objects.dangerously_all().filter(code=code).first()
    if place is None:
        raise refuse("unknown_place")
    return place


def _has_live_order(person) -> bool:
    """The friendly check before the insert; the partial unique index is what holds under a race."""
    return TransferOrder.objects.dangerously_all().live().filter(person=person).exists()


@transaction.atomic
def transfer_request(
    *,
    actor: Actor | None,
    id_type: str,
    id_number: str,
    category: str,
    name: str = "",
    community_code: str = "",
    case_code: str = "",
    clock_from: dt.datetime | None = None,
    destination_code: str = "",
    now: dt.datetime | None = None,
) -> TransferOrder:
    """Order the transfer of one person (a case, a close contact, a contact of a contact).

    The clock runs from ``clock_from`` (the contact's registration or upgrade, the case's report;
    default now) for the hours the edition in force gives the category. The order lies in the
    person's community (else ``community_code``), which the actor must cover.
    """
    require(actor, "transfer.request")
    now = now_or(now)
    id_type, id_number = check_id(id_type, id_number)
    if category not in TransferCategory.values:
        raise refuse("bad_category")
    protocol = in_force()
    hours = protocol.transfer.hours_for(category)
    if hours is None:
        raise refuse("not_transferred")
    clock_from = clock_from or now
    not_future(clock_from, now)
    destination = _destination(destination_code)
    person = person_for(id_type=id_type, id_number=id_number, name=name, now=now)
    if person.community_id:
        if actor is not None and not actor.covers(person.community_id):
            raise refuse("person_out_of_jurisdiction")
        community = person.community
    else:
        community = community_for(actor, community_code)
    if Stay.objects.dangerously_all().open().filter(person=person).exists():
        raise refuse("already_in_custody")
    if _has_live_order(person):
        raise refuse("transfer_live")
    order = TransferOrder(
        person=person,
        category=category,
        case_code=(case_code or "").strip()[:32],
        edition=protocol.code,
        clock_from=clock_from,
        due_at=clock_from + dt.timedelta(hours=hours),
        destination=destination,
        created_at=now,
        created_by=getattr(actor, "user", None),
        **located(community),
    )
    try:
        with transaction.atomic():
            order.save(force_insert=True)
    except IntegrityError:
        # Another request ordered this person's transfer in the meantime: the index kept one.
        raise refuse("transfer_live") from None
    audit_record(
        actor=actor,
        action="transfer_request",
        object_type="transfer",
        object_id=order.pk,
        detail={"person": person.pk, "category": category, "due_at": order.due_at.isoformat()},
    )
    return order


# action → (the transition's method name, what it needs)
ACTIONS = ("assign", "pick_up", "deliver", "cancel")


@transaction.atomic
def transfer_move(
    *,
    actor: Actor | None,
    order: TransferOrder,
    action: str,
    vehicle: str = "",
    crew: str = "",
    destination_code: str = "",
    reason: str = "",
    at: dt.datetime | None = None,
) -> TransferOrder:
    """One step of the state machine, by the order's own jurisdiction, audited with its states."""
    require(actor, "transfer.dispatch")
    now = now_or(None)
    at = at or now
    not_future(at, now)
    order = TransferOrder.objects.dangerously_all().select_for_update().get(pk=order.pk)
    if actor is not None and not actor.covers(order.community_id):
        raise refuse("person_out_of_jurisdiction")
    if action not in ACTIONS:
        raise refuse("bad_transition")
    before = order.state
    try:
        if action == "assign":
            vehicle, crew = vehicle.strip()[:32], crew.strip()[:100]
            if not vehicle or not crew:
                raise refuse("missing_vehicle")
            order.assign(at=at, vehicle=vehicle, crew=crew, destination=_destination(destination_code))
        elif action == "pick_up":
            order.pick_up(at=at)
        elif action == "deliver":
            order.deliver(at=at)
        else:
            reason = reason.strip()[:200]
            if not reason:
                raise refuse("missing_reason")
            order.cancel(at=at, reason=reason)
    except TransitionNotAllowed:
        raise refuse("bad_transition") from None
    order.save()
    audit_record(
        actor=actor,
        action="transfer_" + action,
        object_type="transfer",
        object_id=order.pk,
        detail={"from": before, "to": order.state, "at": at.isoformat(), "reason": order.cancel_reason},
    )
    return order
