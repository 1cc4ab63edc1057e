"""A county user logs in, searches a person, opens the page, sees the masked ID (screenshots kept)."""

from __future__ import annotations

import pytest

from tests.conftest import PASSWORD, make_person, make_user, rid

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PID = rid("350582", "19800101", "123")


def login(page, base, username):
    page.goto(f"{base}/login/")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")


def test_county_user_searches_and_sees_masked_id(live_server, page, artifacts):
    make_user("jj_browser", "command_office", ["350582"])
    person = make_person(id_number=PID, name="陈建国", phone="13805951234")
    make_person(id_number=rid("350502", "19800101", "125"), name="陈建华", community_code="350502001001")
    base = live_server.url

    login(page, base, "jj_browser")
    page.wait_for_selector("#chart-population[data-ready='1']")
    assert page.inner_text("#total-registered") == "1"
    page.screenshot(path=str(artifacts / "home.png"), full_page=True)

    page.click("text=人员查询")
    page.fill("#q", "cjg")
    page.keyboard.press("Enter")
    page.wait_for_selector(f"a[href='/people/{person.pk}/']")
    assert "陈建华" not in page.inner_text("#results")  # the Licheng namesake stays invisible
    page.click(f"a[href='/people/{person.pk}/']")
    page.wait_for_selector("#id-number")
    shown = page.inner_text("#id-number")
    assert shown == f"{PID[:6]}********{PID[-4:]}"
    assert page.inner_text("#phone") == "138****1234"
    page.screenshot(path=str(artifacts / "person-masked.png"), full_page=True)


def test_login_error_is_shown(live_server, page):
    make_user("jj_browser2", "command_office", ["350582"])
    page.goto(f"{live_server.url}/login/")
    page.fill("#username", "jj_browser2")
    page.fill("#password", "wrong-password")
    page.click("button[type=submit]")
    assert "用户名或密码错误" in page.inner_text("[role=alert]")
