"""Pages for the people who use them (issue 11), in a real Chromium at a desk (1440×900) and on a
phone (390×844): a grid worker's untested list and re-check tasks are usable on the phone (no
sideways scrolling, the action in reach), the desktop never clips the re-check form, and a round
page's identity line adds up. Screenshots go to the artifacts directory (docs/ keeps a copy)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone

from lianfang.screening.models import DoorVisit, RecheckTask, TaskStatus
from lianfang.screening.services import round_open
from tests.browser.test_person_search import login
from tests.browser.test_screening import _feed_round
from tests.conftest import JJ_COMMUNITY, make_person, make_user, rid

pytestmark = [pytest.mark.browser, pytest.mark.slow]

VIEWPORTS = {"desktop": {"width": 1440, "height": 900}, "phone": {"width": 390, "height": 844}}
LONG_ADDRESS = "福建省泉州市晋江市青阳街道桂香社区桂香花园{}栋2单元1501室（靠近菜市场东门）"


@pytest.fixture(params=sorted(VIEWPORTS))
def screen(request, browser):
    """A page at each viewport (a phone context emulates touch, as a grid worker's phone has)."""
    name = request.param
    context = browser.new_context(
        locale="zh-CN", viewport=VIEWPORTS[name], is_mobile=name == "phone", has_touch=name == "phone"
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield name, page
    context.close()


@pytest.fixture
def round_world(db):
    people = [
        make_person(
            id_number=rid("350582", "19800101", f"{i:03d}"),
            name=f"晋江居民{i}",
            phone=f"1380595{i:04d}",
            address=LONG_ADDRESS.format(i),
            tags="bedridden" if i == 9 else "",
        )
        for i in range(10)
    ]
    round_open(
        actor=None,
        code="B-R1",
        name="晋江第一轮",
        scope=["350582"],
        starts_at=timezone.now() - dt.timedelta(hours=6),
    )
    _feed_round("B-R1", people)
    return people


def no_sideways_scroll(page) -> None:
    width, inner = page.evaluate("() => [document.scrollingElement.scrollWidth, window.innerWidth]")
    assert width <= inner, f"the page scrolls sideways: {width} > {inner} ({page.url})"


def in_reach(page, locator) -> None:
    """The element is on screen horizontally, not clipped by a scrolling table, and is what a tap
    at its centre hits (nothing covers it)."""
    locator.evaluate("el => window.scrollBy(0, el.getBoundingClientRect().top - window.innerHeight / 2)")
    ok = locator.evaluate(
        """el => {
          const r = el.getBoundingClientRect();
          const wrap = el.closest('.table-wrap');
          const w = wrap ? wrap.getBoundingClientRect() : {left: 0, right: window.innerWidth};
          const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
          return {left: r.left, right: r.right, width: r.width, inner: window.innerWidth,
                  wrapLeft: w.left, wrapRight: w.right, hit: !!hit && (hit === el || el.contains(hit))};
        }"""
    )
    assert ok["width"] > 0 and ok["left"] >= 0 and ok["right"] <= ok["inner"], ok
    assert ok["wrapLeft"] <= ok["left"] and ok["right"] <= ok["wrapRight"], f"clipped by its table: {ok}"
    assert ok["hit"], f"covered: {ok}"


def test_grid_worker_untested_list_and_tasks(live_server, screen, round_world, artifacts):
    name, page = screen
    people = round_world
    make_user("jj_grid", "community_worker", [JJ_COMMUNITY])
    base = live_server.url
    login(page, base, "jj_grid")

    # Home: what to act on now comes first.
    acts = page.locator("#act-now")
    assert "晋江第一轮" in acts.inner_text() and "待签收" in acts.inner_text()
    no_sideways_scroll(page)
    page.screenshot(path=str(artifacts / f"home-{name}.png"), full_page=True)

    # The untested list: a card per person with the whole address and a phone to tap.
    page.goto(f"{base}/rounds/B-R1/area/{JJ_COMMUNITY}/")
    row = page.locator("#untested tbody tr", has_text="晋江居民9")
    assert LONG_ADDRESS.format(9) in row.inner_text()
    call = row.locator("a[href='tel:13805950009']").last
    no_sideways_scroll(page)
    if name == "phone":
        assert row.locator("th").count() == 0 and page.locator("#untested thead").is_hidden()
        in_reach(page, call)
    else:
        in_reach(page, row.locator("a.tel"))
    # The door visit (入户走访): the outcome and its button in reach, recorded in place (htmx).
    person = next(p for p in people if p.name == "晋江居民9")
    visit = page.locator(f"#untested-{person.pk}")
    in_reach(page, visit.locator("select[name=outcome]"))
    in_reach(page, visit.locator(".visit-form button[type=submit]"))
    page.screenshot(path=str(artifacts / f"untested-{name}.png"), full_page=True)
    visit.locator("select[name=outcome]").select_option("not_at_home")
    visit.locator(".visit-form button[type=submit]").click()
    page.wait_for_selector(f"#untested-{person.pk} [role=status]")
    no_sideways_scroll(page)
    assert "不在家" in page.locator(f"#untested-{person.pk} .visit-latest").inner_text()
    assert DoorVisit.objects.filter(person=person, outcome="not_at_home").count() == 1

    # The re-check tasks: the register form of each task is in reach and works.
    page.goto(f"{base}/rounds/B-R1/tasks/")
    task = RecheckTask.objects.filter(person=people[0]).get()
    row = page.locator(f"#task-{task.pk}")
    assert LONG_ADDRESS.format(0) in row.inner_text()
    no_sideways_scroll(page)
    submit = row.locator("button[type=submit]")
    in_reach(page, submit)
    in_reach(page, row.locator("input[name=barcode]"))
    page.screenshot(path=str(artifacts / f"tasks-{name}.png"), full_page=True)
    row.locator("input[name=barcode]").fill(f"B-RC-{name}")
    submit.click()
    page.wait_for_selector(f"#task-{task.pk} [role=status]")
    task.refresh_from_db()
    assert task.status == TaskStatus.SAMPLED and task.check_tube.barcode == f"B-RC-{name}"

    # The pool page lists the same tasks: its form is in reach too.
    page.goto(f"{base}/rounds/B-R1/pools/B-T0/")
    no_sideways_scroll(page)
    other = RecheckTask.objects.filter(person=people[1]).get()
    in_reach(page, page.locator(f"#task-{other.pk} button[type=submit]"))

    # The people of the community: cards too, each with its call.
    page.goto(f"{base}/divisions/{JJ_COMMUNITY}/")
    no_sideways_scroll(page)
    card = page.locator("table.people tbody tr", has_text="晋江居民3")
    assert LONG_ADDRESS.format(3) in card.inner_text()
    if name == "phone":
        in_reach(page, card.locator("a.btn[href='tel:13805950003']"))
    page.screenshot(path=str(artifacts / f"community-{name}.png"), full_page=True)

    # Search results: town and the live round's status.
    page.goto(f"{base}/people/?q=jjjm")
    no_sideways_scroll(page)
    results = page.inner_text("#results")
    assert "青阳街道" in results and "异常" in results
    page.screenshot(path=str(artifacts / f"search-{name}.png"), full_page=True)


def _number(text: str) -> int:
    return int(text.replace(",", "").strip())


def test_round_page_identity_adds_up(live_server, screen, round_world, artifacts):
    name, page = screen
    make_user("jj_cmd", "command_office", ["350582"])
    base = live_server.url
    login(page, base, "jj_cmd")
    page.goto(f"{base}/rounds/B-R1/")
    page.wait_for_selector("#chart-coverage[data-ready='1'] canvas")
    page.wait_for_selector("#chart-progress[data-ready='1'] canvas")
    no_sideways_scroll(page)
    terms = {
        el.get_attribute("data-term"): _number(el.inner_text())
        for el in page.locator("#identity-people b[data-term]").all()
    }
    assert (
        terms["expected"] - terms["exempt"] == terms["sampled"] - terms["sampled_exempt"] + terms["untested"]
    )
    assert terms == {"expected": 10, "exempt": 0, "sampled": 8, "sampled_exempt": 0, "untested": 2}
    # The numbers on the line are the cards' numbers.
    assert _number(page.inner_text("#stat-expected")) == terms["expected"]
    assert _number(page.inner_text("#stat-untested")) == terms["untested"]
    sites = {
        el.get_attribute("data-term"): _number(el.inner_text())
        for el in page.locator("#identity-sites b[data-term]").all()
    }
    assert sites["at_sites"] == sites["in_area"] + sites["unregistered"] + sites["out_of_scope"] == 8
    # Units on the cards: people and tubes are never confused.
    assert re.search(r"人$", page.inner_text(".card:has(#stat-untested) .value"))
    assert re.search(r"管$", page.inner_text(".card:has(#stat-abnormal) .value"))
    # The deadline's label sits inside the chart, clear of both axes.
    label = page.evaluate(
        """() => {
          const chart = echarts.getInstanceByDom(document.getElementById('chart-progress'));
          const opt = chart.getOption();
          const deadline = opt.series[0].markLine.data[0].xAxis;
          const x = chart.convertToPixel({xAxisIndex: 0}, deadline);
          const plot = chart.getModel().getComponent('grid', 0).coordinateSystem.getRect();
          return {x, left: plot.x, right: plot.x + plot.width};
        }"""
    )
    # The deadline line stands off the right axis by more than half its label ("完成时限", 48 px).
    page.screenshot(path=str(artifacts / f"round-{name}.png"), full_page=True)
    page.locator("#chart-progress").screenshot(path=str(artifacts / f"round-progress-{name}.png"))
    assert label["right"] - label["x"] >= 30 and label["x"] - label["left"] >= 30, label
    page.screenshot(path=str(artifacts / f"round-{name}.png"), full_page=True)
