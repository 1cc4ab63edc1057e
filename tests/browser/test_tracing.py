"""The CDC confirms a positive single re-check into a case in the browser, the case's trace task
shows its clocks, a tracer's close contact gets a plan; the same pages on a 390 px phone."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest
from django.utils import timezone

from lianfang.core.times import format_time
from lianfang.screening import services as screening
from lianfang.screening.models import PositiveFinding, RecheckTask
from lianfang.tracing.models import Case, Contact
from tests.browser.test_person_search import login
from tests.conftest import JJ_COMMUNITY, make_person, make_user, rid
from tests.screening.helpers import abnormal_pool

pytestmark = [pytest.mark.browser, pytest.mark.slow]

POSITIVE = rid("350582", "19820202", "301")
CONTACT = rid("350582", "19830303", "302")


def _positive_recheck() -> None:
    """A pool turns positive, its member's single re-check tube is positive: screening's finding."""
    make_person(id_number=POSITIVE, name="复核阳性者", phone="13805950001")
    abnormal_pool("JJ", JJ_COMMUNITY, POSITIVE)
    task = RecheckTask.objects.get()
    sampled = timezone.now() - dt.timedelta(seconds=30)
    screening.recheck_sample_register(actor=None, task=task, barcode="JJ-X1", sampled_at=sampled)
    screening.results_import(
        table=pa.table(
            {
                "tube_barcode": ["JJ-X1"],
                "lab_code": ["JJ-L"],
                "result": ["positive"],
                "reported_at": [format_time(timezone.now())],
            }
        ),
        actor=None,
    )
    assert PositiveFinding.objects.filter(handed_over_at__isnull=True).count() == 1


def test_positive_recheck_to_case_to_trace_task_to_contact_with_a_plan(live_server, page, artifacts):
    _positive_recheck()
    make_user("jj_cdc", "working_group", ["350582"])
    base = live_server.url
    login(page, base, "jj_cdc")
    page.click("nav.nav >> text=流调溯源")
    page.click("text=待确认的复核阳性")
    row = page.locator("#findings tbody tr", has_text="复核阳性者")
    row.locator("input[name=case_code]").fill("JJ-2022-001")
    row.locator("select[name=classification]").select_option("asymptomatic")
    row.locator("button[type=submit]").click()
    page.wait_for_url(f"{base}/tracing/cases/JJ-2022-001/trace/")
    case = Case.objects.get(case_code="JJ-2022-001")
    assert case.source == "screening" and case.found_in == "screening"
    assert (
        page.locator("#core-clock")
        .inner_text()
        .startswith(timezone.localtime(case.trace_task.core_due_at).strftime("%Y-%m-%d %H:%M"))
    )
    page.fill("#team", "晋江流调一组")
    page.check("input[name=core_done]")
    page.click("#task-form button[type=submit]")
    page.wait_for_url(f"{base}/tracing/cases/JJ-2022-001/trace/")
    assert "晋江流调一组" in page.locator("#clocks").inner_text()
    exposure = timezone.localtime(timezone.now() - dt.timedelta(hours=30)).strftime("%Y-%m-%dT%H:%M")
    page.select_option("#category", "close")
    page.fill("#c_id_number", CONTACT)
    page.fill("#c_name", "密接者甲")
    page.fill("#last_exposure_at", exposure)
    page.click("#contact-form button[type=submit]")
    page.wait_for_url(f"{base}/tracing/cases/JJ-2022-001/trace/")
    plans = page.locator("#plans").inner_text()
    assert "密接者甲" in plans and "集中隔离医学观察" in plans and "p9" in plans
    assert Contact.objects.get(id_number=CONTACT).case == case
    page.screenshot(path=str(artifacts / "tracing-task.png"), full_page=True)
    page.goto(f"{base}/tracing/chains/")
    page.wait_for_selector("#chain-graph[data-ready='1']")
    page.screenshot(path=str(artifacts / "tracing-chains.png"), full_page=True)
    # a phone: the page fits 390 px without sideways scrolling of the page itself
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{base}/tracing/cases/JJ-2022-001/")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(artifacts / "tracing-case-phone.png"), full_page=True)
