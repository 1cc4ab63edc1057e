"""The custody pages: the board with clocks and the people tracing says need a transfer, an order
moved through its steps, places with occupancy, check-in, a stay's test days, and scoping across
counties (a Jinjiang hotel holding a Fengze contact)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from lianfang.accounts.models import AuditEvent
from lianfang.accounts.roles import Role
from lianfang.core.times import SHANGHAI
from lianfang.custody.models import Stay, TransferOrder, TransferState
from lianfang.custody.services import stay_check_in, transfer_request
from tests.conftest import JINJIANG, JJ_COMMUNITY, logged_in, make_person, make_user, rid
from tests.custody.helpers import case_fact, make_place, plan_fact, tracing  # noqa: F401

FENGZE = "350503"
FZ_COMMUNITY = "350503001001"
CONTACT_ID = rid(FENGZE, "19850505", "515")


@pytest.fixture
def fz_contact(db):
    return make_person(
        id_number=CONTACT_ID, name="丰泽密接", community_code=FZ_COMMUNITY, phone="13700000515"
    )


def _text(response) -> str:
    return response.content.decode()


def _needs(response) -> str:
    """The table of people who need a transfer (the board above it lists the orders)."""
    text = _text(response)
    return text[text.index('id="needs"') :]


def test_the_board_says_tracing_is_not_installed(db, without_tracing):
    client = logged_in(make_user("jj_tr", Role.TRACER, [JINJIANG]))
    page = client.get("/custody/transfers/")
    assert page.status_code == 200
    assert 'id="tracing-absent"' in _text(page)


def test_people_who_need_a_transfer_come_from_the_facts(tracing, fz_contact):  # noqa: F811
    now = timezone.now()
    jj_case = make_person(
        id_number=rid("350582", "19700101", "111"), name="晋江病例", community_code=JJ_COMMUNITY
    )
    tracing.CASES.append(case_fact(jj_case, reported_at=now - dt.timedelta(hours=1), case_code="C-9"))
    registered = now - dt.timedelta(hours=2)
    tracing.PLANS.append(
        plan_fact(fz_contact, last_exposure=registered - dt.timedelta(days=1), registered_at=registered)
    )
    # A contact of a contact in Jinjiang, and a companion (not transferred by the protocol).
    sec = make_person(
        id_number=rid("350582", "19700101", "112"), name="晋江次密接", community_code=JJ_COMMUNITY
    )
    comp = make_person(
        id_number=rid("350582", "19700101", "113"), name="晋江伴随", community_code=JJ_COMMUNITY
    )
    tracing.PLANS.append(
        plan_fact(sec, category="secondary", last_exposure=registered, registered_at=registered)
    )
    tracing.PLANS.append(
        plan_fact(comp, category="companion", last_exposure=registered, registered_at=registered)
    )

    jj = logged_in(make_user("jj_tr", Role.TRACER, [JINJIANG]))
    text = _needs(jj.get("/custody/transfers/"))
    assert "晋江病例" in text and "晋江次密接" in text
    assert "晋江伴随" not in text and "丰泽密接" not in text  # not transferred; not theirs
    fz = logged_in(make_user("fz_tr", Role.TRACER, [FENGZE]))
    assert "丰泽密接" in _needs(fz.get("/custody/transfers/"))

    # From the list: the clock is the fact's (registration + 8 h), whatever the form says.
    response = fz.post(
        "/custody/transfers/new/",
        {
            "source": "facts",
            "id_type": "resident_id",
            "id_number": CONTACT_ID,
            "category": "case",
            "clock_from": "2020-01-01 00:00",
        },
    )
    order = TransferOrder.objects.get(person=fz_contact)
    assert response.status_code == 302 and response["Location"] == f"/custody/transfers/{order.pk}/"
    assert (order.category, order.due_at, order.case_code) == (
        "close",
        registered + dt.timedelta(hours=8),
        "C1",
    )
    # Now they have a live order: off the list.
    assert "丰泽密接" not in _needs(fz.get("/custody/transfers/"))
    assert "丰泽密接" in _text(fz.get("/custody/transfers/"))  # on the board instead
    # The case: 4 h from the report.
    jj.post(
        "/custody/transfers/new/",
        {"source": "facts", "id_type": "resident_id", "id_number": jj_case.id_number},
    )
    assert TransferOrder.objects.get(person=jj_case).due_at == now - dt.timedelta(hours=1) + dt.timedelta(
        hours=4
    )


def test_an_order_moves_to_delivered_through_the_pages(db, fz_contact):
    tracer = logged_in(make_user("fz_tr", Role.TRACER, [FENGZE]))
    team = logged_in(make_user("fz_team", Role.TRANSFER, [FENGZE]))
    make_place("JJ-H1", JJ_COMMUNITY)
    tracer.post(
        "/custody/transfers/new/", {"id_type": "resident_id", "id_number": CONTACT_ID, "category": "close"}
    )
    order = TransferOrder.objects.get()
    url = f"/custody/transfers/{order.pk}/step/"
    assert team.post(url, {"action": "deliver"}).status_code == 302  # refused: shown as a message
    assert TransferOrder.objects.get().state == TransferState.REQUESTED
    page = team.get(f"/custody/transfers/{order.pk}/", follow=True)
    assert "转运单当前状态不允许此操作" in _text(page)
    team.post(url, {"action": "assign", "vehicle": "闽C1", "crew": "甲乙", "destination": "JJ-H1"})
    team.post(url, {"action": "pick_up"})
    team.post(url, {"action": "deliver"})
    order = TransferOrder.objects.get()
    assert order.state == TransferState.DELIVERED and order.destination.code == "JJ-H1"
    page = _text(team.get(f"/custody/transfers/{order.pk}/"))
    assert page.count("transfer_") >= 4  # the history: requested, assigned, picked up, delivered
    # The tracer's role may not dispatch.
    assert tracer.post(url, {"action": "cancel", "reason": "x"}).status_code == 403


def test_a_jinjiang_hotel_holding_a_fengze_contact(db, fz_contact):
    """Fengze sees their person (the stay, on the person page); Jinjiang sees the room."""
    hotel = make_place("JJ-H1", JJ_COMMUNITY, units="101-102")
    jj_staff = make_user("jj_hotel", Role.ISOLATION, [JINJIANG])
    jj = logged_in(jj_staff)
    response = jj.post(
        f"/custody/places/{hotel.pk}/check-in/", {"id_type": "resident_id", "id_number": CONTACT_ID}
    )
    assert response.status_code == 302
    stay = Stay.objects.get()
    assert (stay.unit.label, stay.home_community) == ("101", FZ_COMMUNITY)

    room = _text(jj.get(f"/custody/places/{hotel.pk}/"))
    assert "丰泽密接" in room and 'data-unit="101"' in room and "已占用 1 · 空余 1" in room
    assert jj.get(f"/people/{fz_contact.pk}/").status_code == 404  # not their resident
    assert jj.get(f"/custody/stays/{stay.pk}/").status_code == 200

    fz = logged_in(make_user("fz_office", Role.COMMAND_OFFICE, [FENGZE]))
    assert fz.get(f"/custody/places/{hotel.pk}/").status_code == 404  # not their hotel
    assert "丰泽密接" in _text(fz.get("/custody/stays/"))
    person_page = _text(fz.get(f"/people/{fz_contact.pk}/"))
    assert 'id="person-stays"' in person_page and "JJ-H1隔离点" in person_page
    stay_page = _text(fz.get(f"/custody/stays/{stay.pk}/"))
    assert "丰泽密接" in stay_page and "13700000515" not in stay_page  # the office sees it masked
    assert 'id="test-form"' not in stay_page  # and may not change it
    # Posting anyway: not theirs to change.
    assert fz.post(
        f"/custody/stays/{stay.pk}/test/", {"sampled_at": "2022-03-20 10:00", "result": "negative"}
    ).status_code in (403, 404)

    other = logged_in(make_user("lc_office", Role.COMMAND_OFFICE, ["350502"]))
    assert other.get(f"/custody/stays/{stay.pk}/").status_code == 404
    assert "丰泽密接" not in _text(other.get("/custody/stays/"))


def test_places_show_occupancy_and_refuse_a_bad_form(db):
    office = logged_in(make_user("jj_wg", Role.WORKING_GROUP, [JINJIANG]))
    form = {
        "code": "JJ-H2",
        "name": "晋江酒店",
        "kind": "hotel",
        "community_code": JJ_COMMUNITY,
        "units": "9-1",
        "beds": "1",
    }
    response = office.post("/custody/places/", form)
    assert response.status_code == 400 and "房间/床位号格式无效" in _text(response)
    response = office.post("/custody/places/", {**form, "units": "101-110"})
    assert response.status_code == 302
    listing = _text(office.get("/custody/places/"))
    assert "晋江酒店" in listing and ">10<" in listing


def test_check_in_form_refusals_are_shown(db):
    hotel = make_place("JJ-H1", JJ_COMMUNITY, units="101")
    staff = logged_in(make_user("jj_hotel", Role.ISOLATION, [JINJIANG]))
    page = staff.post(
        f"/custody/places/{hotel.pk}/check-in/", {"id_type": "resident_id", "id_number": "123"}, follow=True
    )
    assert "证件号码无效" in _text(page)
    assert not Stay.objects.exists()


def test_stay_page_shows_the_plans_test_days(tracing, fz_contact):  # noqa: F811
    exposure = timezone.now().astimezone(SHANGHAI) - dt.timedelta(days=2)
    tracing.PLANS.append(plan_fact(fz_contact, last_exposure=exposure, registered_at=exposure))
    hotel = make_place("JJ-H1", JJ_COMMUNITY)
    stay = stay_check_in(
        actor=None,
        place=hotel,
        id_type="resident_id",
        id_number=CONTACT_ID,
        at=exposure + dt.timedelta(hours=1),
    )
    staff = logged_in(make_user("jj_hotel", Role.ISOLATION, [JINJIANG]))
    text = _text(staff.get(f"/custody/stays/{stay.pk}/"))
    day1 = (exposure + dt.timedelta(days=1)).date().isoformat()
    assert 'id="test-days"' in text and day1 in text
    assert "管控计划尚未期满" in text  # why it cannot end yet
    before = AuditEvent.objects.count()
    staff.get(f"/custody/stays/{stay.pk}/")
    assert AuditEvent.objects.count() == before + 1


def test_an_order_for_someone_checked_in_is_refused(db, fz_contact):
    stay_check_in(
        actor=None, place=make_place("JJ-H1", JJ_COMMUNITY), id_type="resident_id", id_number=CONTACT_ID
    )
    with pytest.raises(Exception) as exc:
        transfer_request(actor=None, id_type="resident_id", id_number=CONTACT_ID, category="close")
    assert getattr(exc.value, "code", "") == "already_in_custody"


def test_the_pages_switch_to_english(db):
    from django.urls import reverse

    hotel = make_place("JJ-H1", JJ_COMMUNITY)
    client = logged_in(make_user("jj_hotel", Role.ISOLATION, [JINJIANG]))
    client.post(reverse("web:set_language"), {"language": "en", "next": "/"})
    assert "Transfer dispatch" in _text(client.get("/custody/transfers/"))
    text = _text(client.get(f"/custody/places/{hotel.pk}/"))
    assert "Taken 0 · free 3" in text and "Check-in" in text
