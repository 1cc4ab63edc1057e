"""A county command office opens a round in the browser, watches it fill, drills down to the
untested list, downloads it, and follows an abnormal pool to its re-check tasks (screenshots kept)."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pyarrow as pa
import pytest
from django.utils import timezone

from lianfang.core.times import format_time
from lianfang.screening.models import RecheckTask, TaskStatus
from lianfang.screening.services import labs_import, results_import, samples_import, sites_import
from tests.browser.test_person_search import login
from tests.conftest import JJ_COMMUNITY, make_person, make_user, rid

pytestmark = [pytest.mark.browser, pytest.mark.slow]

JJ_TOWN = JJ_COMMUNITY[:9]


def _table(rows):
    return pa.Table.from_pylist([{k: str(v) for k, v in r.items()} for r in rows])


def _feed_round(code: str, people: list) -> None:
    """Samples for all but the last two people (one pool of 3 turns positive), as a sampling app would."""
    now = timezone.now()
    sites_import(
        table=_table(
            [{"site_code": "JJ-B1", "name": "晋江浏览器采样点", "community_code": JJ_COMMUNITY, "desks": 2}]
        ),
        actor=None,
    )
    labs_import(table=_table([{"lab_code": "LAB-B", "name": "浏览器检测机构"}]), actor=None)
    sampled = people[:-2]
    rows = [
        {
            "round_code": code,
            "tube_barcode": f"B-T{i // 3}",
            "pool_size": 10,
            "id_number": p.id_number,
            "site_code": "JJ-B1",
            "collected_at": format_time(now - dt.timedelta(hours=3, minutes=i)),
        }
        for i, p in enumerate(sampled)
    ]
    summary, _ = samples_import(table=_table(rows), actor=None, source="browser-samples.csv")
    assert summary.accepted == len(rows), summary
    results = [
        {
            "tube_barcode": f"B-T{t}",
            "lab_code": "LAB-B",
            "result": "positive" if t == 0 else "negative",
            "reported_at": format_time(now - dt.timedelta(hours=1)),
        }
        for t in range((len(sampled) + 2) // 3)
    ]
    summary, _ = results_import(table=_table(results), actor=None, source="browser-results.csv")
    assert summary.accepted == len(results), summary


def test_round_from_form_to_untested_export_and_recheck(live_server, page, artifacts):
    make_user("jj_cmd", "command_office", ["350582"])
    people = [
        make_person(
            id_number=rid("350582", "19800101", f"{i:03d}"),
            name=f"晋江居民{i}",
            phone=f"1380595{i:04d}",
            address=f"桂香花园{i}栋101",
            tags="bedridden" if i == 9 else "",
        )
        for i in range(10)
    ]
    base = live_server.url
    login(page, base, "jj_cmd")

    # Open the round through the form.
    page.click("text=核酸筛查")
    page.wait_for_url(f"{base}/rounds/")
    page.fill("#code", "B-R1")
    page.fill("#name", "晋江浏览器测试轮")
    page.check("input[name=scope][value='350582']")
    # Started before the samples fed below (a sample before its round's start is before_round).
    started = timezone.localtime(timezone.now() - dt.timedelta(hours=6))
    page.fill("#starts_at", started.strftime("%Y-%m-%dT%H:%M"))
    page.click("#open-round button[type=submit]")
    page.wait_for_url(f"{base}/rounds/B-R1/")
    assert page.inner_text("#stat-expected") == "10"

    _feed_round("B-R1", people)
    page.reload()
    page.wait_for_selector("#chart-coverage[data-ready='1'] canvas")
    page.wait_for_selector("#chart-progress[data-ready='1'] canvas")
    assert page.inner_text("#stat-sampled") == "8" and page.inner_text("#stat-untested") == "2"
    assert "B-T0" in page.inner_text("#round-alerts")
    page.screenshot(path=str(artifacts / "screening-round.png"), full_page=True)

    # Drill down: the county user's chart has a bar per town (one row each); click the town's
    # bar, then the community row.
    x, y = page.evaluate(
        """() => {
          const chart = echarts.getInstanceByDom(document.getElementById('chart-coverage'));
          return chart.convertToPixel({seriesIndex: 0}, [40, 0]);
        }"""
    )
    page.click("#chart-coverage canvas", position={"x": x, "y": y})
    page.wait_for_url(f"{base}/rounds/B-R1/area/{JJ_TOWN}/")
    page.wait_for_selector("#chart-coverage[data-ready='1'] canvas")
    page.click(f"#coverage-table a[href='/rounds/B-R1/area/{JJ_COMMUNITY}/']")
    page.wait_for_url(f"{base}/rounds/B-R1/area/{JJ_COMMUNITY}/")
    untested = page.inner_text("#untested")
    assert "晋江居民8" in untested and "晋江居民9" in untested and "上门采样" in untested
    assert people[9].id_number not in untested  # masked for the command office

    with page.expect_download() as info:
        page.click("#export-csv")
    download = info.value
    assert download.suggested_filename.startswith(f"untested-B-R1-{JJ_COMMUNITY}-")
    rows = list(csv.reader(io.StringIO(open(download.path(), encoding="utf-8-sig").read())))
    assert rows[0][:3] == ["community_code", "id_type", "id_number"] and len(rows) == 3
    assert all("********" in r[2] for r in rows[1:])

    # The abnormal pool and its re-check tasks; register one single tube through the row's form.
    page.goto(f"{base}/rounds/B-R1/")
    page.click("#pools a:has-text('B-T0')")
    page.wait_for_url(f"{base}/rounds/B-R1/pools/B-T0/")
    assert "初筛阳性" in page.inner_text("h1")
    tasks = page.inner_text("#tasks")
    assert "晋江居民0" in tasks and "晋江居民2" in tasks and "待采样" in tasks
    task = RecheckTask.objects.get(person=people[0])
    row = page.locator(f"#task-{task.pk}")
    row.locator("input[name=barcode]").fill("B-RC-0")
    row.locator("button[type=submit]").click()
    page.wait_for_selector(f"#task-{task.pk} [role=status]")
    assert "B-RC-0" in page.inner_text(f"#task-{task.pk}")
    task.refresh_from_db()
    assert task.status == TaskStatus.SAMPLED
    page.screenshot(path=str(artifacts / "screening-pool.png"), full_page=True)

    # Acknowledge the alert from the banner (htmx swaps the banner away).
    page.goto(f"{base}/rounds/B-R1/")
    page.click("#round-alerts button[type=submit]")
    page.wait_for_selector("#round-alerts:not(:has(li))", state="attached")
    assert RecheckTask.objects.get(person=people[1]).tube.alert.acknowledged_at is not None
