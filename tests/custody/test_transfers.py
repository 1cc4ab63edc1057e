"""Transfer orders: the protocol's clocks, one state machine, one live order per person, audited."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from lianfang.accounts.models import AuditEvent
from lianfang.accounts.roles import Role
from lianfang.core.errors import Refused
from lianfang.custody.models import TransferOrder, TransferState
from lianfang.custody.services import CustodyError, transfer_move, transfer_request
from lianfang.edition.services import edition_switch
from lianfang.people.models import Person
from tests.conftest import JINJIANG, JJ_COMMUNITY, LC_COMMUNITY, actor, make_person, make_user, rid
from tests.custody.helpers import make_place

PID = rid("350582", "19800101", "101")


@pytest.fixture
def tracer(db):
    return actor(make_user("jj_tr", Role.TRACER, [JINJIANG]))


@pytest.fixture
def team(db):
    return actor(make_user("jj_team", Role.TRANSFER, [JINJIANG]))


@pytest.fixture
def person(db):
    return make_person(id_number=PID, name="转运甲")


@pytest.mark.parametrize(("category", "hours"), [("close", 8), ("secondary", 12), ("case", 4)])
def test_the_clock_comes_from_the_edition_in_force(person, tracer, category, hours):
    start = timezone.now() - dt.timedelta(hours=1)
    order = transfer_request(
        actor=tracer, id_type="resident_id", id_number=PID, category=category, clock_from=start
    )
    assert order.due_at == start + dt.timedelta(hours=hours)
    assert order.edition == "p9" and order.state == TransferState.REQUESTED
    assert order.community_id == JJ_COMMUNITY


def test_an_order_keeps_the_edition_it_was_made_under(person, tracer):
    edition_switch(actor=None, code="p8", reason="测试 第1号")
    order = transfer_request(actor=tracer, id_type="resident_id", id_number=PID, category="close")
    assert order.edition == "p8"


def test_the_whole_machine_and_its_audit(person, tracer, team):
    order = transfer_request(actor=tracer, id_type="resident_id", id_number=PID, category="close")
    place = make_place("JJ-H9", JJ_COMMUNITY)
    order = transfer_move(
        actor=team, order=order, action="assign", vehicle="闽C12345", crew="王五", destination_code="JJ-H9"
    )
    assert (order.state, order.destination, order.vehicle) == (TransferState.ASSIGNED, place, "闽C12345")
    order = transfer_move(actor=team, order=order, action="pick_up")
    order = transfer_move(actor=team, order=order, action="deliver")
    assert order.state == TransferState.DELIVERED and order.delivered_at is not None
    steps = list(
        AuditEvent.objects.filter(object_type="transfer", object_id=str(order.pk))
        .order_by("id")
        .values_list("action", "detail")
    )
    assert [a for a, _ in steps] == [
        "transfer_request",
        "transfer_assign",
        "transfer_pick_up",
        "transfer_deliver",
    ]
    assert steps[-1][1]["from"] == "picked_up" and steps[-1][1]["to"] == "delivered"
    # Delivered is final: nothing moves it any more, cancelling included.
    for action in ("assign", "pick_up", "deliver"):
        with pytest.raises(CustodyError) as exc:
            transfer_move(actor=team, order=order, action=action, vehicle="x", crew="y", reason="r")
        assert exc.value.code == "bad_transition"
    with pytest.raises(CustodyError):
        transfer_move(actor=team, order=order, action="cancel", reason="搞错了")


def test_steps_cannot_be_skipped(person, tracer, team):
    order = transfer_request(actor=tracer, id_type="resident_id", id_number=PID, category="close")
    for action in ("pick_up", "deliver"):
        with pytest.raises(CustodyError) as exc:
            transfer_move(actor=team, order=order, action=action)
        assert exc.value.code == "bad_transition"
    with pytest.raises(CustodyError) as exc:
        transfer_move(actor=team, order=order, action="assign", vehicle="", crew="王五")
    assert exc.value.code == "missing_vehicle"
    assert TransferOrder.objects.get().state == TransferState.REQUESTED


def test_cancel_needs_a_reason_and_frees_the_person(person, tracer, team):
    order = transfer_request(actor=tracer, id_type="resident_id", id_number=PID, category="close")
    with pytest.raises(CustodyError) as exc:
        transfer_move(actor=team, order=order, action="cancel", reason="  ")
    assert exc.value.code == "missing_reason"
    order = transfer_move(actor=team, order=order, action="cancel", reason="已居家隔离")
    assert order.state == TransferState.CANCELLED and order.cancel_reason == "已居家隔离"
    again = transfer_request(actor=tracer, id_type="resident_id", id_number=PID, category="close")
    assert again.pk != order.pk


def test_one_live_order_per_person(person, tracer):
    transfer_request(actor=tracer, id_type="resident_id", id_number=PID, category="close")
    with pytest.raises(CustodyError) as exc:
        transfer_request(actor=tracer, id_type="resident_id", id_number=PID, category="secondary")
    assert exc.value.code == "transfer_live"
    assert TransferOrder.objects.count() == 1


def test_the_database_holds_one_live_order_even_past_the_service(person, tracer):
    order = transfer_request(actor=tracer, id_type="resident_id", id_number=PID, category="close")
    twin = TransferOrder(
        person=order.person,
        category="close",
        edition="p9",
        clock_from=order.clock_from,
        due_at=order.due_at,
        created_at=order.created_at,
        community=order.community,
        town_code=order.town_code,
        county_code=order.county_code,
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        twin.save()


def test_a_person_not_in_the_registry_is_added_unregistered(tracer):
    new = rid("350582", "19900202", "202")
    with pytest.raises(CustodyError) as exc:  # no community: where would the team go?
        transfer_request(actor=tracer, id_type="resident_id", id_number=new, category="close", name="外来甲")
    assert exc.value.code == "unknown_community"
    assert not Person.objects.filter(id_number=new).exists()  # refused: nothing written
    order = transfer_request(
        actor=tracer,
        id_type="resident_id",
        id_number=new,
        category="close",
        name="外来甲",
        community_code=JJ_COMMUNITY,
    )
    person = Person.objects.get(id_number=new)
    assert (person.registered, person.name, order.community_id) == (False, "外来甲", JJ_COMMUNITY)


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"id_number": "350582198001011234"}, "invalid_id_number"),
        ({"id_number": ""}, "missing_id_number"),
        ({"id_type": "dog_licence"}, "bad_id_type"),
        ({"category": "general"}, "bad_category"),
        ({"category": "companion"}, "bad_category"),
        ({"destination_code": "NOWHERE"}, "unknown_place"),
        ({"clock_from": timezone.now() + dt.timedelta(hours=2)}, "future_time"),
    ],
)
def test_bad_requests_are_refused_with_a_reason(person, tracer, fields, code):
    args = {"id_type": "resident_id", "id_number": PID, "category": "close", **fields}
    with pytest.raises(CustodyError) as exc:
        transfer_request(actor=tracer, **args)
    assert exc.value.code == code and exc.value.zh and exc.value.en
    assert not TransferOrder.objects.exists()


def test_another_countys_person_is_refused(tracer):
    make_person(id_number=rid("350502", "19700101", "303"), community_code=LC_COMMUNITY)
    with pytest.raises(CustodyError) as exc:
        transfer_request(
            actor=tracer, id_type="resident_id", id_number=rid("350502", "19700101", "303"), category="close"
        )
    assert exc.value.code == "person_out_of_jurisdiction"


def test_roles_without_the_verb_are_refused(person, tracer):
    office_sampler = actor(make_user("jj_sampler", Role.SAMPLER, [JINJIANG]))
    with pytest.raises(Refused) as exc:
        transfer_request(actor=office_sampler, id_type="resident_id", id_number=PID, category="close")
    assert exc.value.code == "not_permitted"
    order = transfer_request(actor=tracer, id_type="resident_id", id_number=PID, category="close")
    with pytest.raises(Refused) as exc:  # a tracer orders, the transfer team dispatches
        transfer_move(actor=tracer, order=order, action="pick_up")
    assert exc.value.code == "not_permitted"


def test_another_countys_team_cannot_move_an_order(person, tracer):
    order = transfer_request(actor=tracer, id_type="resident_id", id_number=PID, category="close")
    lc_team = actor(make_user("lc_team", Role.TRANSFER, ["350502"]))
    with pytest.raises(CustodyError):
        transfer_move(actor=lc_team, order=order, action="assign", vehicle="v", crew="c")
    assert TransferOrder.objects.get().state == TransferState.REQUESTED
