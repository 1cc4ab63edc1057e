"""The command layer in a real Chromium: a problem filed with a photo, rectified, verified and
closed; the big screen at 1920×1080 (screenshot kept); the briefing PDF downloaded."""

from __future__ import annotations

import pytest

from lianfang.accounts.roles import Role
from lianfang.command.models import Problem
from tests.browser.test_person_search import login
from tests.conftest import JINJIANG, JJ_COMMUNITY, make_user

pytestmark = [pytest.mark.browser, pytest.mark.slow]

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(200)


def test_problem_with_a_photo_from_filing_to_closing(live_server, page, artifacts, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    make_user("b_insp", Role.INSPECTOR, [JINJIANG])
    make_user("b_grid", Role.COMMUNITY_WORKER, [JINJIANG])
    base = live_server.url
    login(page, base, "b_insp")
    page.goto(f"{base}/problems/")
    page.fill("#problem-form input[name=title]", "采样点未设一米线")
    page.fill("#problem-form input[name=division_code]", JJ_COMMUNITY)
    page.click("#problem-form button[type=submit]")
    page.wait_for_selector("#problem-state")
    assert page.inner_text("#problem-state") == "交办"
    photo = tmp_path / "现场.jpg"
    photo.write_bytes(JPEG)
    page.set_input_files("input[type=file]", str(photo))
    page.click("form[enctype] button[type=submit]")
    page.wait_for_selector("#evidence a")
    assert "现场.jpg" in page.inner_text("#evidence")
    problem = Problem.objects.get()
    page.context.clear_cookies()

    login(page, base, "b_grid")
    page.goto(f"{base}/problems/{problem.pk}/")
    page.click("button[data-action=start]")
    page.wait_for_selector("button[data-action=report]")
    page.click("button[data-action=report]")
    page.wait_for_selector("#problem-state")
    assert page.inner_text("#problem-state") == "已整改（待核验）"
    page.context.clear_cookies()

    login(page, base, "b_insp")
    page.goto(f"{base}/problems/{problem.pk}/")
    page.click("button[data-action=verify]")
    page.wait_for_selector("#history")
    assert page.inner_text("#problem-state") == "销号"
    page.screenshot(path=str(artifacts / "problem-closed.png"), full_page=True)


def test_big_screen_at_1920x1080(live_server, browser, artifacts):
    make_user("b_cmd", Role.COMMANDER, ["3505"])
    context = browser.new_context(locale="zh-CN", viewport={"width": 1920, "height": 1080})
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    login(page, live_server.url, "b_cmd")
    page.goto(f"{live_server.url}/screen/")
    page.wait_for_selector("body[data-ready='1']", timeout=20_000)
    # Custody is installed and has no places yet: none free (a number, not "unknown").
    assert page.inner_text("#cap-rooms") == "0" and page.inner_text("#cap-beds") == "0"
    assert "无超时" in page.inner_text("#list-overdue")
    # Every panel fits the wall: nothing scrolls at 1920×1080.
    assert page.evaluate("document.documentElement.scrollHeight") <= 1080
    assert page.locator("#chart-map canvas").count() >= 1
    page.screenshot(path=str(artifacts / "big-screen-1920x1080.png"))
    assert not errors, errors  # no script error (CSP blocks nothing we need)
    # The script's words are the reader's language: the page hands them over, translated.
    context.add_cookies([{"name": "django_language", "value": "en", "url": live_server.url}])
    page.goto(f"{live_server.url}/screen/")
    page.wait_for_selector("body[data-ready='1']", timeout=20_000)
    assert "Nothing overdue" in page.inner_text("#list-overdue")
    assert not errors, errors
    context.close()


def test_briefing_pdf_download(live_server, page, artifacts):
    make_user("b_office", Role.COMMAND_OFFICE, ["3505"])
    login(page, live_server.url, "b_office")
    page.goto(f"{live_server.url}/briefing/")
    page.fill("input[name=cutoff]", "2022-03-26")
    page.click("#briefing-form button[type=submit]")
    page.wait_for_selector("#download-pdf")
    with page.expect_download() as info:
        page.click("#download-pdf")
    target = artifacts / "briefing.pdf"
    info.value.save_as(str(target))
    assert target.read_bytes()[:5] == b"%PDF-"
