"""A tracer uploads telecom pings, the background run finishes, two companions are confirmed in
bulk and show on the contacts page with their plan."""

from __future__ import annotations

import pyarrow as pa
import pytest

from lianfang.tracing import services as tracing
from lianfang.tracing.models import Contact
from tests.browser.test_person_search import login
from tests.companions.helpers import pings_csv
from tests.conftest import make_person, make_user
from tests.tracing.helpers import CASE_A, P1, P2, P3, case

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_upload_pings_run_confirm_two_and_they_are_contacts(live_server, page, artifacts, tmp_path):
    tracing.cases_import(table=pa.Table.from_pylist([case("C1")]), actor=None)
    make_person(id_number=P1, name="伴随甲")
    make_person(id_number=P2, name="伴随乙", phone="13800000002")
    make_person(id_number=P3, name="伴随丙")
    pings = tmp_path / "pings.csv"
    pings.write_bytes(
        pings_csv(
            CASE_A,
            {
                P1: ("2022-03-20 08:10", "2022-03-20 08:50"),
                "13800000002": ("2022-03-20 08:30", "2022-03-20 09:30"),
                P3: ("2022-03-20 08:00", "2022-03-20 08:15"),
            },
        )
    )
    make_user("jj_tr_b", "tracer", ["350582"])
    base = live_server.url
    login(page, base, "jj_tr_b")
    page.click("nav.nav >> text=时空伴随")
    page.wait_for_url(f"{base}/companions/review/")
    page.click("text=上传信令并计算")
    page.set_input_files("#file", str(pings))
    page.fill("#cases", "C1")
    page.click("#upload button[type=submit]")
    page.wait_for_selector('#job[data-status="done"]')
    assert page.locator("#matches").inner_text() == "3"
    page.click("#to-review")
    for name in ("伴随甲", "伴随乙"):
        page.locator("#matches tbody tr", has_text=name).locator("input[name=row]").check()
    page.screenshot(path=str(artifacts / "companions-review.png"), full_page=True)
    page.click("#confirm")
    page.wait_for_selector(".alert, .messages")
    assert "伴随丙" in page.locator("#matches").inner_text()  # still pending
    assert "伴随甲" not in page.locator("#matches").inner_text()
    page.goto(f"{base}/tracing/contacts/")
    plans = page.locator("#plans").inner_text()
    assert "伴随甲" in plans and "伴随乙" in plans and "伴随丙" not in plans
    assert set(Contact.objects.values_list("category", flat=True)) == {"companion"}
