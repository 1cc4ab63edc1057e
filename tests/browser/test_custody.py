"""A transfer order moved to delivered and a room check-in, in a real Chromium at phone and desktop
widths, with the Content-Security-Policy enforced (screenshots kept)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from lianfang.custody.models import Stay, TransferOrder, TransferState
from tests.browser.test_person_search import login
from tests.conftest import JJ_COMMUNITY, make_person, make_user, rid

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PID = rid("350582", "19820202", "321")
LATE = rid("350582", "19850505", "432")


def test_transfer_to_delivered_and_room_check_in(live_server, page, artifacts):
    make_user("jj_admin", "admin", ["350582"])
    make_person(id_number=PID, name="晋江密接甲", phone="13905950321")
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    base = live_server.url
    login(page, base, "jj_admin")

    # A hotel with three rooms, from the places form.
    page.goto(f"{base}/custody/places/")
    page.fill("#code", "JJ-H1")
    page.fill("#name", "晋江隔离酒店")
    page.fill("#community_code", JJ_COMMUNITY)
    page.fill("#units", "101-103")
    page.click("#place-form button[type=submit]")
    page.wait_for_selector("#units")
    assert page.locator(".unit.free").count() == 3

    # A transfer order by hand, then dispatched, picked up and delivered.
    page.goto(f"{base}/custody/transfers/")
    page.fill("#id_number", PID)
    page.select_option("#category", "close")
    page.select_option("#destination", "JJ-H1")
    page.click("#transfer-form button[type=submit]")
    page.wait_for_selector("#state")
    assert page.inner_text("#state") == "待派车"
    page.fill("#assign-form input[name=vehicle]", "闽C·12345")
    page.fill("#assign-form input[name=crew]", "王师傅、李医生")
    page.click("#assign-form button[type=submit]")
    page.wait_for_selector("#pick-up")
    page.click("#pick-up")
    page.wait_for_selector("#deliver")
    page.click("#deliver")
    page.wait_for_selector("#history")
    assert page.inner_text("#state") == "已送达"
    assert TransferOrder.objects.get().state == TransferState.DELIVERED
    page.screenshot(path=str(artifacts / "custody-transfer-delivered.png"), full_page=True)

    # The hotel sees who is coming and checks them in: room 101 taken, occupancy from the stay.
    page.goto(f"{base}/custody/places/")
    page.click("text=JJ-H1")
    page.wait_for_selector("#incoming")
    assert "晋江密接甲" in page.inner_text("#incoming")
    page.fill("#check-in-form #id_number", PID)
    page.click("#check-in-form button[type=submit]")
    page.wait_for_selector(".unit.taken")
    assert "晋江密接甲" in page.inner_text(".unit[data-unit='101']")
    assert page.locator(".unit.free").count() == 2
    assert Stay.objects.get().unit.label == "101"
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(artifacts / "custody-room-check-in-390.png"), full_page=True)
    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto(f"{base}/custody/transfers/?state=all")
    page.screenshot(path=str(artifacts / "custody-board-1440.png"), full_page=True)

    # A second order left waiting past its clock: the overdue board shows it, and leads to it.
    make_person(id_number=LATE, name="晋江密接乙", phone="13905950432")
    page.goto(f"{base}/custody/transfers/")
    page.fill("#id_number", LATE)
    page.select_option("#category", "close")
    page.select_option("#destination", "JJ-H1")
    page.click("#transfer-form button[type=submit]")
    page.wait_for_selector("#state")
    late = TransferOrder.objects.get(person__id_number=LATE)
    TransferOrder.objects.filter(pk=late.pk).update(due_at=timezone.now() - dt.timedelta(hours=2))
    page.goto(f"{base}/overdue/")
    row = page.locator(f"#overdue-items tr[data-ref='transfer:{late.pk}']")
    assert "晋江密接乙" in row.inner_text() and "2 小时" in row.inner_text()
    assert (
        page.locator("#overdue-items tr[data-ref^='transfer:']").count() == 1
    )  # the delivered one is not late
    assert page.inner_text("#overdue-kinds [data-kind=transfer] .value").startswith("1")
    page.screenshot(path=str(artifacts / "overdue-board-1440.png"), full_page=True)
    row.locator("a").click()
    page.wait_for_selector("#state")
    assert page.inner_text("#state") == "待派车"
    assert not [p for p in problems if "Content Security Policy" in p], problems
