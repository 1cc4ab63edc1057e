"""A division name that is markup stays text: hovering the coverage chart over it runs nothing
(escaped labels, and a Content-Security-Policy that would refuse the inline handler anyway)."""

from __future__ import annotations

import pytest

from lianfang.geo.models import Division
from lianfang.screening.services import round_open
from tests.browser.test_person_search import login
from tests.conftest import make_person, make_user, rid

pytestmark = [pytest.mark.browser, pytest.mark.slow]

EVIL = '<img src=x onerror="window.__xss=1;alert(1)">'


def test_hovering_a_chart_over_a_hostile_division_name_runs_nothing(live_server, page):
    Division.objects.filter(code="350582").update(name=EVIL)
    make_user("city_browser", "command_office", ["3505"])
    make_person(id_number=rid("350582", "19800101", "001"), name="晋江居民")
    round_open(actor=None, code="X-R1", name="XSS", scope=["350582", "350502"])
    dialogs, violations = [], []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    login(page, live_server.url, "city_browser")
    page.goto(f"{live_server.url}/rounds/X-R1/")
    page.wait_for_selector("#chart-coverage[data-ready='1'] canvas")
    x, y = page.evaluate(
        """() => {
          const chart = echarts.getInstanceByDom(document.getElementById('chart-coverage'));
          const names = chart.getOption().yAxis[0].data;  // one row per division
          const i = names.findIndex(n => n.includes('onerror'));
          return chart.convertToPixel({seriesIndex: 0}, [50, i]);
        }"""
    )
    page.hover("#chart-coverage canvas", position={"x": x, "y": y})
    tooltip = page.wait_for_selector("#chart-coverage div:has-text('onerror')")
    page.wait_for_timeout(300)
    assert "<img" in tooltip.inner_text()  # shown as the text it is
    assert dialogs == [] and page.evaluate("window.__xss") is None
    assert page.query_selector("#chart-coverage img") is None
    assert violations == [], violations  # the page itself needs nothing the policy forbids
