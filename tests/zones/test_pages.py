"""The zones pages: designation by form, the zone page's clock and conditions, signing and
rejecting proposals (never automatic), the notice, the people inside and the map."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from django.utils import timezone

from lianfang.accounts.models import AuditEvent
from lianfang.accounts.roles import Role
from lianfang.core.facts import CaseFact
from lianfang.zones.models import ProposalStatus, Zone, ZoneChange, ZoneProposal
from tests.conftest import JJ_COMMUNITY, LC_COMMUNITY, logged_in, make_person, make_user, rid

JJ2 = "350582001005"


@pytest.fixture
def commander(db):
    return make_user("jj_cmd", Role.COMMANDER, ["350582"])


def designate(client, **kw):
    data = {"code": "Z1", "name": "一号封控区", "type": "sealed", "area": JJ_COMMUNITY, "designated_at": ""}
    data.update(kw)
    return client.post("/zones/", data)


def test_designate_by_form_then_see_it_listed_with_its_measures(commander):
    client = logged_in(commander)
    response = designate(client)
    assert response.status_code == 302 and response["Location"] == "/zones/Z1/"
    zone = Zone.objects.get(code="Z1")
    assert (zone.type, zone.area) == ("sealed", [JJ_COMMUNITY])
    assert ZoneChange.objects.get(zone=zone).source == "form"
    page = client.get("/zones/Z1/").content.decode()
    assert "足不出户、服务上门" in page and 'id="clock-from"' in page
    assert "Z1" in client.get("/zones/").content.decode()
    notice = client.get("/zones/Z1/notice/").content.decode()
    assert "封控区" in notice and "足不出户、服务上门" in notice


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"area": LC_COMMUNITY}, "inside your jurisdiction"),  # another county's community
        ({"area": "350582001"}, "community codes"),  # a town code
        ({"type": "orange"}, "not a zone type"),
        ({"name": ""}, "zone name"),
        ({"designated_at": "2099-01-01T10:00"}, "future"),
        ({"designated_at": "yesterday"}, "not a time"),
    ],
)
def test_designate_refuses_bad_input_with_a_bilingual_message(commander, data, message):
    response = designate(logged_in(commander), **data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Zone.objects.exists()


def test_a_role_without_the_verb_cannot_designate(db):
    volunteer = make_user("jj_vol", Role.VOLUNTEER, ["350582"])
    assert designate(logged_in(volunteer)).status_code == 403
    assert not Zone.objects.exists()


def test_another_countys_zone_is_404(commander, db):
    city = make_user("city_cmd", Role.COMMANDER, ["3505"])
    designate(logged_in(city), code="LCZ", area=LC_COMMUNITY)
    client = logged_in(commander)
    for url in ("/zones/LCZ/", "/zones/LCZ/notice/", "/zones/LCZ/residents/"):
        assert client.get(url).status_code == 404, url
    assert "LCZ" not in client.get("/zones/").content.decode()


def _precaution_with_a_lift(client):
    # A precaution zone with no sealed/controlled zone in its county: its lift is proposed at once.
    designate(client, code="P1", type="precaution", name="防范区")
    client.get("/zones/P1/")
    return ZoneProposal.objects.get(zone__code="P1", status=ProposalStatus.OPEN)


def test_a_proposal_is_signed_by_a_commander_and_recorded_as_a_change(commander):
    client = logged_in(commander)
    proposal = _precaution_with_a_lift(client)
    assert Zone.objects.get(code="P1").type == "precaution"  # proposed, not applied
    office = make_user("jj_office2", Role.COMMAND_OFFICE, ["350582"])
    assert logged_in(office).post(f"/zones/P1/proposals/{proposal.pk}/sign/").status_code == 403
    assert Zone.objects.get(code="P1").type == "precaution"
    response = client.post(f"/zones/P1/proposals/{proposal.pk}/sign/")
    assert response.status_code == 302
    zone = Zone.objects.get(code="P1")
    proposal.refresh_from_db()
    assert zone.type == "lifted" and proposal.status == "signed" and proposal.decided_by == commander
    assert [c.type for c in zone.changes.order_by("designated_at")] == ["precaution", "lifted"]
    assert proposal.change.source == "proposal"
    assert AuditEvent.objects.filter(action="zone_sign", object_id="P1").exists()
    # a second signature of the same proposal changes nothing
    client.post(f"/zones/P1/proposals/{proposal.pk}/sign/")
    assert zone.changes.count() == 2


def test_a_rejection_needs_a_reason_and_is_not_proposed_again_for_the_same_clock(commander):
    client = logged_in(commander)
    proposal = _precaution_with_a_lift(client)
    client.post(f"/zones/P1/proposals/{proposal.pk}/reject/", {"reason": " "})
    proposal.refresh_from_db()
    assert proposal.status == "open"
    client.post(f"/zones/P1/proposals/{proposal.pk}/reject/", {"reason": "周边仍有风险"})
    proposal.refresh_from_db()
    assert (proposal.status, proposal.reason) == ("rejected", "周边仍有风险")
    client.get("/zones/P1/")
    assert not ZoneProposal.objects.filter(zone__code="P1", status="open").exists()
    assert Zone.objects.get(code="P1").type == "precaution"


def test_a_proposal_whose_conditions_no_longer_hold_is_withdrawn(commander):
    client = logged_in(commander)
    proposal = _precaution_with_a_lift(client)
    designate(client, code="S1", type="sealed")  # now a sealed zone in the same county
    client.post(f"/zones/P1/proposals/{proposal.pk}/sign/")
    proposal.refresh_from_db()
    assert proposal.status == "withdrawn" and Zone.objects.get(code="P1").type == "precaution"


def test_an_infection_in_a_controlled_zone_proposes_the_upgrade(commander, tracing_facts):
    client = logged_in(commander)
    designate(
        client, code="C1", type="controlled", designated_at=_local(timezone.now() - dt.timedelta(days=2))
    )
    tracing_facts.CASES.append(
        CaseFact(
            "K1",
            "resident_id",
            rid("350582", "19900101", "011"),
            JJ_COMMUNITY,
            "confirmed",
            "screening",
            timezone.now() - dt.timedelta(hours=1),
        )  # fmt: skip
    )
    page = client.get("/zones/C1/").content.decode()
    assert "K1" in page  # the case that reset the clock, by its code
    proposal = ZoneProposal.objects.get(zone__code="C1", status="open")
    assert (proposal.action, proposal.to_type) == ("upgrade", "sealed")
    assert Zone.objects.get(code="C1").type == "controlled"  # nothing without a signature
    client.post(f"/zones/C1/proposals/{proposal.pk}/sign/")
    assert Zone.objects.get(code="C1").type == "sealed"


def _local(value):
    return timezone.localtime(value).strftime("%Y-%m-%dT%H:%M")


def test_people_inside_masked_and_audited(commander, db):
    make_person(id_number=rid("350582", "19500101", "011"), name="王老人", community_code=JJ_COMMUNITY,
                tags="bedridden;elderly_alone", phone="13800001111")  # fmt: skip
    make_person(id_number=rid("350582", "19600101", "022"), name="邻社区", community_code=JJ2)
    client = logged_in(commander)
    designate(client)
    page = client.get("/zones/Z1/residents/").content.decode()
    assert "王老人" in page and "邻社区" not in page
    assert "13800001111" not in page and "138****1111" in page  # the commander sees masked data
    assert "独居老人" in page and "卧床" not in page.split("residents-table")[1]  # health tag hidden
    assert AuditEvent.objects.filter(action="view", object_type="zone_residents", object_id="Z1").exists()
    # a masked role cannot learn a health tag by filtering on it either
    assert "王老人" in client.get("/zones/Z1/residents/?tag=bedridden").content.decode()  # filter ignored
    assert "王老人" not in client.get("/zones/Z1/residents/?tag=infant").content.decode()
    worker = make_user("jj_grid", Role.COMMUNITY_WORKER, ["350582"])
    full = logged_in(worker).get("/zones/Z1/residents/?tag=bedridden").content.decode()
    assert "13800001111" in full and "卧床" in full
    assert (
        logged_in(make_user("jj_vol", Role.VOLUNTEER, ["350582"])).get("/zones/Z1/residents/").status_code
        == 403
    )


def test_the_list_redraws_a_past_day(commander):
    client = logged_in(commander)
    designate(client, designated_at="2022-03-10T10:00")
    assert "Z1" in client.get("/zones/?on=2022-03-11").content.decode()
    assert "Z1" not in client.get("/zones/?on=2022-03-09").content.decode()
    assert client.get("/zones/?on=not-a-day").status_code == 200


def test_the_map_page_ships_its_data_and_says_where_coordinates_are_missing(commander):
    client = logged_in(commander)
    designate(client)
    page = client.get("/zones/map/").content.decode()
    assert 'id="no-coordinates"' in page and "quanzhou.js" in page
    data = json.loads(re.search(r'id="zones-data" type="application/json">(.*?)</script>', page, re.S)[1])
    (zone,) = data["zones"]
    assert zone["code"] == "Z1" and zone["changes"][0]["county_names"] == ["晋江市"]
    assert zone["changes"][0]["type"] == "sealed"


def test_the_zone_page_shows_its_open_requests(commander):
    from lianfang.livelihood.services import request_file

    client = logged_in(commander)
    designate(client)
    request_file(actor=None, source="worker", community_code=JJ_COMMUNITY, name="王", phone="13800001111",
                 address="1号楼", kind="dialysis", detail="透析")  # fmt: skip
    request_file(
        actor=None,
        source="worker",
        community_code=JJ2,
        name="李",
        phone="13800002222",
        address="2号楼",
        kind="dialysis",
        detail="透析",
    )  # fmt: skip (outside the zone)
    panel = client.get("/zones/Z1/").content.decode().split('id="zone-requests"')[1].split("</section>")[0]
    assert "待办 1 件，其中紧急 1 件" in panel


def test_people_inside_page_by_page(commander, db, monkeypatch):
    from lianfang.zones import views

    monkeypatch.setattr(views, "RESIDENTS_PAGE", 2)
    for i in range(5):
        make_person(
            id_number=rid("350582", "19700101", f"{i:03d}"), name=f"居民{i}", community_code=JJ_COMMUNITY
        )
    client = logged_in(commander)
    designate(client)
    seen = []
    for number in (1, 2, 3):
        page = client.get(f"/zones/Z1/residents/?page={number}").content.decode()
        seen += re.findall(r"居民\d", page)
        assert ('id="next"' in page) == (number < 3)
    assert sorted(seen) == [f"居民{i}" for i in range(5)]
    assert client.get("/zones/Z1/residents/?page=x").status_code == 200
