"""The custody API: transfer orders and their steps, places with occupancy, check-in — scoped (a
Jinjiang hotel holding a Fengze person: Fengze sees their person, Jinjiang the room), masked,
audited, refused in zh/en."""

from __future__ import annotations

import json

import pytest
from django.core.cache import cache
from django.test import Client

from lianfang.accounts.models import AuditEvent
from lianfang.accounts.roles import Role
from lianfang.accounts.services import token_issue
from lianfang.custody import services
from lianfang.custody.models import Stay, TransferOrder, TransferState
from tests.conftest import JINJIANG, JJ_COMMUNITY, LC_COMMUNITY, LICHENG, make_person, make_user, rid
from tests.custody.helpers import custody_world

API = "/api/v1/custody"
FENGZE = "350503"
FZ_COMMUNITY = "350503001001"
JJ_ID, LC_ID, FZ_ID = (
    rid(JINJIANG, "19800303", "311"),
    rid(LICHENG, "19800404", "411"),
    rid(FENGZE, "19800505", "511"),
)
NEW_ID = rid(JINJIANG, "19900606", "612")


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()


@pytest.fixture
def world(db):
    jj = make_person(id_number=JJ_ID, name="晋江居民", community_code=JJ_COMMUNITY, phone="13800000311")
    lc = make_person(id_number=LC_ID, name="鲤城居民", community_code=LC_COMMUNITY)
    fz = make_person(id_number=FZ_ID, name="丰泽密接", community_code=FZ_COMMUNITY)
    make_person(id_number=NEW_ID, name="晋江新人", community_code=JJ_COMMUNITY)
    jj_world = custody_world(jj, JJ_COMMUNITY, "JJ")  # hotel JJ-H1 (101-103), jj in it, their order
    lc_world = custody_world(lc, LC_COMMUNITY, "LC")
    # A Fengze close contact: their own county orders the transfer, a Jinjiang hotel holds them.
    fz_order = services.transfer_request(actor=None, id_type="resident_id", id_number=FZ_ID, category="close")
    fz_stay = services.stay_check_in(
        actor=None, place=jj_world["place"], id_type="resident_id", id_number=FZ_ID
    )
    return {
        "jj": jj_world,
        "lc": lc_world,
        "fz_order": fz_order,
        "fz_stay": fz_stay,
        "fz": fz,
    }


def _client(role: str, codes=(JINJIANG,), name: str = "") -> Client:
    user = make_user(name or f"c_{role}_{'_'.join(codes)}", role, list(codes))
    _, raw = token_issue(user=user, name="script")
    return Client(headers={"authorization": f"Bearer {raw}"})


def _bilingual(response, zh: str, en: str) -> None:
    text = json.dumps(response.json(), ensure_ascii=False)
    assert zh in text and en in text, text


def _post(client: Client, path: str, body: dict):
    return client.post(f"{API}/{path}", body, "application/json")


# --- transfers ---------------------------------------------------------------------------------


def test_transfers_of_the_tokens_jurisdiction_unmasked_for_the_transfer_team(world):
    client = _client(Role.TRANSFER)
    before = AuditEvent.objects.count()
    rows = client.get(f"{API}/transfers").json()
    assert [r["id"] for r in rows] == [world["jj"]["order"].pk]
    person = rows[0]["person"]
    assert (person["id_number"], person["name"], person["phone"], person["masked"]) == (
        JJ_ID,
        "晋江居民",
        "13800000311",
        False,
    )
    assert rows[0]["state"] == "requested" and rows[0]["community_code"] == JJ_COMMUNITY
    assert AuditEvent.objects.count() == before + 1


def test_transfers_are_masked_for_the_command_office_and_filter_by_state(world):
    client = _client(Role.COMMAND_OFFICE)
    rows = client.get(f"{API}/transfers?state=all").json()
    assert len(rows) == 1 and rows[0]["person"]["masked"] and rows[0]["person"]["phone"] == "138****0311"
    assert client.get(f"{API}/transfers?state=delivered").json() == []
    assert len(client.get(f"{API}/transfers?state=requested&limit=5").json()) == 1
    assert client.get(f"{API}/transfers?state=all&offset=1").json() == []
    bad = client.get(f"{API}/transfers?state=lost")
    assert bad.status_code == 422
    _bilingual(bad, "状态须为以下之一", "state must be one of")


def test_fengze_sees_their_person_and_jinjiang_the_room(world):
    fengze = _client(Role.TRANSFER, codes=(FENGZE,))
    orders = fengze.get(f"{API}/transfers").json()
    assert [o["id"] for o in orders] == [world["fz_order"].pk] and orders[0]["person"]["name"] == "丰泽密接"
    assert fengze.get(f"{API}/places").json() == []  # the hotel is Jinjiang's
    assert fengze.get(f"{API}/places/{world['jj']['place'].pk}").status_code == 404
    jinjiang = _client(Role.COMMAND_OFFICE)
    assert "丰泽密接" not in jinjiang.get(f"{API}/transfers?state=all").content.decode()
    place = jinjiang.get(f"{API}/places/{world['jj']['place'].pk}").json()
    assert (place["units_total"], place["units_used"], place["units_free"], place["people"]) == (3, 2, 1, 2)
    assert [(u["label"], u["taken"], u["free"]) for u in place["units"]] == [
        ("101", 1, False),
        ("102", 1, False),
        ("103", 0, True),
    ]
    assert "丰泽" not in json.dumps(place, ensure_ascii=False)  # occupancy names nobody


def test_a_transition_through_the_state_machine(world):
    client = _client(Role.TRANSFER)
    order = world["jj"]["order"]
    path = f"transfers/{order.pk}/transition"
    missing = _post(client, path, {"action": "assign"})
    assert missing.status_code == 400
    _bilingual(missing, "请填写车辆和转运人员", "vehicle and crew are required")
    early = _post(client, path, {"action": "deliver"})
    assert early.status_code == 409
    _bilingual(early, "转运单当前状态不允许此操作", "the transfer order's state does not allow this step")
    done = _post(
        client, path, {"action": "assign", "vehicle": "闽C12345", "crew": "王五", "destination": "JJ-H1"}
    )
    assert done.status_code == 200, done.content
    assert done.json()["state"] == "assigned" and done.json()["destination"] == "JJ-H1"
    assert TransferOrder.objects.get(pk=order.pk).state == TransferState.ASSIGNED
    assert AuditEvent.objects.filter(action="transfer_assign", object_id=str(order.pk)).exists()
    bad = _post(client, path, {"action": "teleport"})
    assert bad.status_code == 422
    _bilingual(bad, "操作须为以下之一", "action must be one of")


def test_transitions_of_another_countys_order_are_404_and_change_nothing(world):
    client = _client(Role.TRANSFER)
    order = world["lc"]["order"]
    theirs = _post(client, f"transfers/{order.pk}/transition", {"action": "cancel", "reason": "x"})
    missing = _post(client, "transfers/999999/transition", {"action": "cancel", "reason": "x"})
    assert theirs.status_code == missing.status_code == 404 and theirs.content == missing.content
    assert TransferOrder.objects.get(pk=order.pk).state == TransferState.REQUESTED


def test_a_role_without_dispatch_is_403(world):
    response = _post(
        _client(Role.ISOLATION),
        f"transfers/{world['jj']['order'].pk}/transition",
        {"action": "cancel", "reason": "x"},
    )
    assert response.status_code == 403
    _bilingual(response, "您的角色无权执行此操作", "your role may not do this")
    assert TransferOrder.objects.get(pk=world["jj"]["order"].pk).state == TransferState.REQUESTED


def test_a_device_role_reads_no_transfer(world):
    for role in (Role.SAMPLER, Role.LAB):
        response = _client(role).get(f"{API}/transfers")
        assert response.status_code == 403 and "晋江居民" not in response.content.decode()


# --- places and check-in -----------------------------------------------------------------------


def test_places_with_occupancy_derived_from_stays(world):
    # The world's 方舱 JJ-F0 discharged its patient (tests/custody/helpers.custody_world): all free.
    rows = _client(Role.COMMAND_OFFICE).get(f"{API}/places").json()
    assert [(r["code"], r["units_used"], r["units_free"], r["people"]) for r in rows] == [
        ("JJ-F0", 0, 2, 0),
        ("JJ-H1", 2, 1, 2),
    ]
    # Ending a stay frees its room: nothing is typed in.
    Stay.objects.filter(pk=world["fz_stay"].pk).update(ended_at=world["fz_stay"].checked_in_at)
    rows = _client(Role.COMMAND_OFFICE, name="again").get(f"{API}/places").json()
    hotel = next(r for r in rows if r["code"] == "JJ-H1")
    assert (hotel["units_used"], hotel["units_free"]) == (1, 2)


def test_another_countys_place_is_404(world):
    client = _client(Role.ISOLATION)
    theirs, missing = (
        client.get(f"{API}/places/{world['lc']['place'].pk}"),
        client.get(f"{API}/places/999999"),
    )
    assert theirs.status_code == missing.status_code == 404 and theirs.content == missing.content


def test_check_in_under_the_service(world):
    client = _client(Role.ISOLATION)
    place = world["jj"]["place"]
    response = _post(client, f"places/{place.pk}/check-in", {"id_number": NEW_ID})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["unit"] == "103" and body["place"] == "JJ-H1" and body["person"]["id_number"] == NEW_ID
    assert Stay.objects.open().filter(person__id_number=NEW_ID, unit__label="103").exists()
    assert AuditEvent.objects.filter(action="check_in", object_id=str(body["id"])).exists()
    # The hotel is full now; the same person again is already in custody.
    full = _post(client, f"places/{place.pk}/check-in", {"id_number": rid(JINJIANG, "19910707", "713")})
    assert full.status_code == 409
    _bilingual(full, "没有空余的房间/床位", "no free room or bed")
    again = _post(client, f"places/{place.pk}/check-in", {"id_number": NEW_ID})
    assert again.status_code == 409
    _bilingual(again, "该人员已在隔离/救治场所入住", "already checked in")


def test_a_refused_check_in_answers_400_in_chinese_and_english(world):
    client = _client(Role.ISOLATION)
    place = world["jj"]["place"]
    bad = _post(client, f"places/{place.pk}/check-in", {"id_number": "350582199006066120"})
    assert bad.status_code == 400
    _bilingual(bad, "证件号码无效", "invalid ID number")
    unit = _post(client, f"places/{place.pk}/check-in", {"id_number": NEW_ID, "unit": "999"})
    assert unit.status_code == 400
    _bilingual(unit, "房间/床位号不存在", "unknown room or bed")
    assert _post(client, f"places/{place.pk}/check-in", {"name": "x"}).status_code == 422
    assert not Stay.objects.filter(person__id_number=NEW_ID).exists()


def test_check_in_at_another_countys_place_is_404_and_a_role_without_the_verb_403(world):
    client = _client(Role.ISOLATION)
    theirs = _post(client, f"places/{world['lc']['place'].pk}/check-in", {"id_number": NEW_ID})
    assert theirs.status_code == 404
    office = _post(
        _client(Role.COMMAND_OFFICE), f"places/{world['jj']['place'].pk}/check-in", {"id_number": NEW_ID}
    )
    assert office.status_code == 403
    assert not Stay.objects.filter(person__id_number=NEW_ID).exists()
