"""A commander seals a community and one building in the browser, sees them on the map and their
residents listed; a resident files an urgent dialysis request from the QR page; a community worker
assigns it and a volunteer delivers it with the resident's code; once the lift conditions hold the
zone proposes its lift and the commander signs it (screenshots kept)."""

from __future__ import annotations

import datetime as dt
import re

import pyarrow as pa
import pytest
from django.utils import timezone

from lianfang.core.times import format_time
from lianfang.geo.places import buildings_create, compounds_create
from lianfang.livelihood import sms
from lianfang.livelihood.models import Request
from lianfang.livelihood.views import resident_token
from lianfang.people.models import Person
from lianfang.screening.services import labs_import, results_import, round_open, samples_import, sites_import
from lianfang.zones.models import Zone
from tests.browser.test_person_search import login
from tests.conftest import JJ_COMMUNITY, make_person, make_user, rid

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _table(rows):
    return pa.Table.from_pylist([{k: str(v) for k, v in r.items()} for r in rows])


def _screen_everyone_negative(people) -> None:
    now = timezone.now()
    sites_import(
        table=_table([{"site_code": "Z-S1", "name": "封控区上门采样", "community_code": JJ_COMMUNITY}]),
        actor=None,
    )
    labs_import(table=_table([{"lab_code": "Z-L1", "name": "检测机构"}]), actor=None)
    round_open(
        actor=None, code="Z-R1", name="封控区单采", scope=["350582"], starts_at=now - dt.timedelta(hours=12)
    )
    samples_import(
        table=_table(
            [
                {"round_code": "Z-R1", "tube_barcode": f"Z-T{i}", "pool_size": 1, "id_number": p.id_number,
                 "site_code": "Z-S1", "collected_at": format_time(now - dt.timedelta(hours=6))}
                for i, p in enumerate(people)
            ]
        ),
        actor=None,
    )  # fmt: skip
    results_import(
        table=_table(
            [
                {"tube_barcode": f"Z-T{i}", "lab_code": "Z-L1", "result": "negative",
                 "reported_at": format_time(now - dt.timedelta(hours=2))}
                for i in range(len(people))
            ]
        ),
        actor=None,
    )  # fmt: skip


def test_seal_map_residents_dialysis_request_delivery_and_signed_lift(live_server, page, artifacts, settings):
    settings.LIVELIHOOD_SMS_BACKEND = "outbox"
    sms.outbox.clear()
    base = live_server.url
    make_user("z_cmd", "commander", ["350582"])
    make_user("z_grid", "community_worker", [JJ_COMMUNITY])
    make_user("z_vol", "volunteer", [JJ_COMMUNITY])
    people = [
        make_person(id_number=rid("350582", "19600101", "011"), name="林透析", community_code=JJ_COMMUNITY,
                    phone="13805950001", address="3号楼501", tags="dialysis"),
        make_person(id_number=rid("350582", "19850101", "022"), name="林家人", community_code=JJ_COMMUNITY),
    ]  # fmt: skip

    # 1. The commander seals the community, dated 15 days ago (14 clear days have passed since).
    login(page, base, "z_cmd")
    page.goto(f"{base}/zones/")
    page.fill("#code", "JJ-S1")
    page.fill("#name", "青新社区封控区")
    page.select_option("#type", "sealed")
    page.fill("#area", JJ_COMMUNITY)
    sealed_at = timezone.localtime(timezone.now() - dt.timedelta(days=15))
    page.fill("#designated_at", sealed_at.strftime("%Y-%m-%dT%H:%M"))
    page.click("#designate button[type=submit]")
    page.wait_for_url(f"{base}/zones/JJ-S1/")
    assert page.inner_text("#zone-type") == "封控区"
    assert "足不出户" in page.inner_text("#measures")

    # 2. The map draws the county outlines and the zone on its county; the list names it.
    page.goto(f"{base}/zones/map/")
    page.wait_for_selector("#zone-map[data-ready='1']")
    assert page.get_attribute("#zone-map", "data-zones") == "1"
    assert "JJ-S1" in page.inner_text("#map-list") and "晋江市" in page.inner_text("#map-list")
    assert page.locator("#zone-map canvas").count() == 1
    page.screenshot(path=str(artifacts / "zones-map.png"), full_page=True)

    # 3. The residents are listed (the commander sees them masked).
    page.goto(f"{base}/zones/JJ-S1/residents/")
    table = page.inner_text("#residents-table")
    assert "林透析" in table and "林家人" in table and "13805950001" not in table

    # 3b. One building of it sealed on its own: the map says buildings have no coordinates and
    #     lists it; its residents are that building's people only.
    building = buildings_create([(compounds_create([(JJ_COMMUNITY, "青新花园")])[0], "3号楼")])[0]
    Person.objects.filter(pk=people[0].pk).update(building=building)
    page.goto(f"{base}/zones/")
    page.fill("#code", "JJ-B1")
    page.fill("#name", "青新花园3号楼封控")
    page.select_option("#type", "sealed")
    page.fill("#area", building.code)
    page.fill("#designated_at", sealed_at.strftime("%Y-%m-%dT%H:%M"))
    page.click("#designate button[type=submit]")
    page.wait_for_url(f"{base}/zones/JJ-B1/")
    page.goto(f"{base}/zones/map/")
    page.wait_for_selector("#zone-map[data-ready='1']")
    assert "JJ-B1" in page.inner_text("#below-community")
    page.goto(f"{base}/zones/JJ-B1/residents/")
    table = page.inner_text("#residents-table")
    assert "林透析" in table and "林家人" not in table

    # 4. A resident files an urgent dialysis request from the building's QR page.
    resident = page.context.browser.new_context(
        locale="zh-CN", viewport={"width": 390, "height": 844}
    ).new_page()
    url = f"{base}/r/{resident_token(JJ_COMMUNITY, '3号楼')}/"
    resident.goto(url)
    resident.fill("#phone", "13805950001")
    resident.click("#send-code")
    code = re.search(r"\d{6}", sms.outbox[-1][1])[0]
    resident.fill("#code", code)
    resident.click("#verify")
    resident.wait_for_selector("#file")
    resident.fill("#name", "林透析")
    resident.fill("#address", "501")
    resident.select_option("#kind", "dialysis")
    resident.fill("#detail", "明早七点透析，需要送医")
    resident.click("#file")
    confirmation = re.search(r"\d{6}", resident.inner_text("#confirmation"))[0]
    resident.screenshot(path=str(artifacts / "zones-resident-390.png"), full_page=True)
    request = Request.objects.get()
    assert (request.urgency, request.kind, request.building) == ("urgent", "dialysis", "3号楼")

    # 5. The community worker sees it first on the board and assigns it to the volunteer.
    page.context.clear_cookies()
    login(page, base, "z_grid")
    page.goto(f"{base}/livelihood/")
    assert page.get_attribute("#request-board tbody tr:first-child", "data-urgency") == "urgent"
    page.goto(f"{base}/livelihood/{request.pk}/")
    page.select_option("#username", "z_vol")
    page.click("#assign")
    assert page.inner_text("#request-status") == "已派单"

    # 6. The volunteer delivers it with the resident's code.
    page.context.clear_cookies()
    login(page, base, "z_vol")
    page.goto(f"{base}/livelihood/{request.pk}/")
    page.fill("#code", confirmation)
    page.click("#deliver")
    assert page.inner_text("#request-status") == "已送达"

    # 7. Everyone sampled alone and negative within 2 days: the lift is proposed; the commander signs.
    _screen_everyone_negative(people)
    page.context.clear_cookies()
    login(page, base, "z_cmd")
    page.goto(f"{base}/zones/JJ-S1/")
    assert page.locator(".conditions li[data-holds='1']").count() == 3
    page.wait_for_selector("#open-proposal")
    page.screenshot(path=str(artifacts / "zones-proposal.png"), full_page=True)
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#sign")
    page.wait_for_url(f"{base}/zones/JJ-S1/")
    assert Zone.objects.get(code="JJ-S1").type == "lifted"
    assert "已解除" in page.inner_text("#zone-type")
