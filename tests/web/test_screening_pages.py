"""Screening pages: rounds, coverage drill-down, untested lists and exports, pools, re-check tasks.

Data is built through the real services (round_open, sites/labs/samples/results imports). A
Jinjiang (350582) command-office user looks at a round that covers Jinjiang and Licheng (350502);
everything of Licheng must stay invisible to them, and personal data stays masked for their role.
"""

from __future__ import annotations

import csv
import datetime as dt
import io

import pyarrow as pa
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from lianfang.accounts.models import AuditEvent
from lianfang.analytics.screening import COUNT_COLUMNS, UNTESTED_COLUMNS, coverage_by_community
from lianfang.core.times import format_time
from lianfang.imports.models import ImportJob
from lianfang.screening import selectors
from lianfang.screening.models import PoolAlert, RecheckTask, Round, Sample, Site, TaskStatus
from lianfang.screening.report import round_input
from lianfang.screening.services import labs_import, results_import, round_open, samples_import, sites_import
from tests.conftest import JJ_COMMUNITY, LC_COMMUNITY, actor, logged_in, make_person, make_user, rid

NOW = timezone.now()
JJ_TOWN = JJ_COMMUNITY[:9]
BABY_BIRTH = (timezone.localdate() - dt.timedelta(days=200)).strftime("%Y%m%d")


def _table(rows: list[dict]) -> pa.Table:
    return pa.Table.from_pylist([{k: str(v) for k, v in r.items()} for r in rows])


def add_samples(rows: list[dict]) -> None:
    summary, _ = samples_import(table=_table(rows), actor=None, source="test-samples.csv")
    assert summary.accepted == len(rows), summary


def add_results(rows: list[dict]) -> None:
    summary, _ = results_import(table=_table(rows), actor=None, source="test-results.csv")
    assert summary.rejected == 0, summary


def sample(round_code, barcode, person, site, hours_ago, pool_size=10):
    return {
        "round_code": round_code,
        "tube_barcode": barcode,
        "pool_size": pool_size,
        "id_number": person.id_number,
        "site_code": site,
        "collected_at": format_time(NOW - dt.timedelta(hours=hours_ago)),
    }


def result(barcode, value, hours_ago, lab="LAB1"):
    return {
        "tube_barcode": barcode,
        "lab_code": lab,
        "result": value,
        "reported_at": format_time(NOW - dt.timedelta(hours=hours_ago)),
    }


@pytest.fixture
def world(db):
    """Round R1 over Jinjiang and Licheng: one positive pool in each county, one pending tube in Jinjiang."""
    people = {
        "a": make_person(
            id_number=rid("350582", "19800101", "011"),
            name="陈甲",
            phone="13805950001",
            address="桂香花园3栋501",
        ),
        "b": make_person(id_number=rid("350582", "19810101", "021"), name="陈乙"),
        "c": make_person(
            id_number=rid("350582", "19400101", "031"),
            name="卧床丙",
            phone="13805950003",
            address="桂香花园5栋101",
            tags="bedridden",
        ),
        "baby": make_person(id_number=rid("350582", BABY_BIRTH, "041"), name="婴儿丁"),
        "d": make_person(id_number=rid("350582", "19900101", "051"), name="陈戊"),
        "lc1": make_person(
            id_number=rid("350502", "19800101", "061"), name="鲤城甲", community_code=LC_COMMUNITY
        ),
        "lc2": make_person(
            id_number=rid("350502", "19800101", "071"), name="鲤城乙", community_code=LC_COMMUNITY
        ),
    }
    sites_import(
        table=_table(
            [
                {"site_code": "JJ-S1", "name": "晋江一号采样点", "community_code": JJ_COMMUNITY, "desks": 2},
                {"site_code": "LC-S1", "name": "鲤城一号采样点", "community_code": LC_COMMUNITY, "desks": 1},
            ]
        ),
        actor=None,
    )
    labs_import(
        table=_table([{"lab_code": "LAB1", "name": "第一检测机构", "daily_capacity": 50000}]), actor=None
    )
    rnd = round_open(
        actor=None,
        code="R1",
        name="第一轮全员核酸",
        scope=["350582", "350502"],
        starts_at=NOW - dt.timedelta(hours=6),
    )
    add_samples(
        [
            sample("R1", "T-JJ-1", people["a"], "JJ-S1", 5),
            sample("R1", "T-JJ-1", people["b"], "JJ-S1", 5),
            sample("R1", "T-JJ-2", people["d"], "JJ-S1", 3),
            sample("R1", "T-LC-1", people["lc1"], "LC-S1", 5),
        ]
    )
    add_results(
        [
            result("T-JJ-1", "positive", 2),
            result("T-LC-1", "positive", 2),
            result("T-HELD-9", "negative", 1),  # its tube is not registered: held
        ]
    )
    return {"round": rnd, **people}


def page(client, url):
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return response.content.decode()


# --- round list and round page -----------------------------------------------------------------


def test_round_list_and_round_page_show_only_own_county(world, county_user):
    client = logged_in(county_user)
    listing = page(client, "/rounds/")
    assert "/rounds/R1/" in listing and "3 / 5" in listing  # sampled / expected in Jinjiang
    body = page(client, "/rounds/R1/")
    stats = {
        "expected": "5",
        "exempt": "1",
        "sampled": "3",
        "coverage": "60.0%",
        "untested": "1",
        "pending-tubes": "1",
        "abnormal": "1",
        "held": "1",
    }
    for key, value in stats.items():
        assert f'id="stat-{key}">{value}<' in body, key
    assert 'id="stat-open-tasks" href="/rounds/R1/tasks/">2<' in body
    assert "T-JJ-1" in body and "T-LC-1" not in body  # Licheng's pool (and its alert) stay invisible
    assert 'id="alert-' in body and "晋江一号采样点" in body and "鲤城一号采样点" not in body
    assert 'id="chart-progress"' in body and 'id="chart-coverage"' in body and "screening-data" in body
    assert "第一检测机构" in body  # turnaround table
    # A county user's coverage is broken down into their towns (not one bar of the county).
    assert '<a href="/rounds/R1/area/350582001/">' in body and "/rounds/R1/area/350502" not in body


def test_city_user_sees_both_counties(world, city_user):
    body = page(logged_in(city_user), "/rounds/R1/")
    assert 'id="stat-expected">7<' in body and 'id="stat-sampled">4<' in body
    assert "T-JJ-1" in body and "T-LC-1" in body


def test_county_user_gets_404_for_the_other_county(world, county_user):
    client = logged_in(county_user)
    lc_task = RecheckTask.objects.get(person=world["lc1"])
    lc_alert = PoolAlert.objects.get(tube__barcode="T-LC-1")
    for url in [
        "/rounds/R1/area/350502/",
        f"/rounds/R1/area/{LC_COMMUNITY}/",
        f"/rounds/R1/area/{LC_COMMUNITY}/untested.csv",
        "/rounds/R1/area/350502001/untested.xlsx",
        "/rounds/R1/pools/T-LC-1/",
        "/rounds/R9/",  # not there is the same as not yours
    ]:
        assert client.get(url).status_code == 404, url
    assert client.post(f"/rounds/R1/tasks/{lc_task.pk}/sample/", {"barcode": "X1"}).status_code == 404
    assert client.post(f"/rounds/R1/alerts/{lc_alert.pk}/ack/").status_code == 404
    assert "鲤城甲" not in page(client, "/rounds/R1/tasks/?status=all")
    round_open(actor=None, code="R2", name="鲤城专项", scope=["350502"])
    assert client.get("/rounds/R2/").status_code == 404
    assert "/rounds/R2/" not in page(client, "/rounds/")


def test_round_page_query_count_is_bounded(world, county_user, django_assert_max_num_queries):
    client = logged_in(county_user)
    with CaptureQueriesContext(connection) as before:
        assert client.get("/rounds/R1/").status_code == 200
    # 22 + the people the sites sampled, split three ways + tracing's in-custody fact at the start
    # (its contact rows, cases and their registry matches: at most 5, whatever their number)
    assert len(before.captured_queries) <= 28
    # More pools, members, sites and results must not add queries (no N+1).
    more = [
        make_person(id_number=rid("350582", "19700101", f"{i:03d}"), name=f"加{i}") for i in range(100, 112)
    ]
    sites_import(
        table=_table([{"site_code": "JJ-S2", "name": "晋江二号", "community_code": JJ_COMMUNITY}]), actor=None
    )
    add_samples([sample("R1", f"T-MORE-{i // 3}", p, "JJ-S2", 4) for i, p in enumerate(more)])
    add_results([result(f"T-MORE-{i}", "inconclusive" if i % 2 else "invalid", 1) for i in range(4)])
    with django_assert_max_num_queries(len(before.captured_queries)):
        assert client.get("/rounds/R1/").status_code == 200
    for url in [
        "/rounds/",
        "/rounds/R1/area/350582/",
        f"/rounds/R1/area/{JJ_COMMUNITY}/",
        "/rounds/R1/tasks/",
        "/rounds/R1/pools/T-MORE-0/",
        "/screening/sites/",
        "/screening/labs/",
    ]:
        # 15, + tracing's in-custody fact on the pages that count coverage (at most 5, as above)
        with django_assert_max_num_queries(20):
            assert client.get(url).status_code == 200, url


# --- drill-down, untested list, exports ---------------------------------------------------------


def test_drill_down_county_town_community(world, county_user):
    client = logged_in(county_user)
    county = page(client, "/rounds/R1/area/350582/")
    assert f'href="/rounds/R1/area/{JJ_TOWN}/"' in county and 'id="stat-untested">1<' in county
    town = page(client, f"/rounds/R1/area/{JJ_TOWN}/")
    assert f'href="/rounds/R1/area/{JJ_COMMUNITY}/"' in town and "untested.xlsx" in town
    community = page(client, f"/rounds/R1/area/{JJ_COMMUNITY}/")
    assert "卧床丙" in community and "上门采样" in community
    for sampled_or_exempt in ("陈甲", "陈乙", "陈戊", "婴儿丁"):
        assert sampled_or_exempt not in community


def test_untested_list_masked_per_role(world, county_user, county_tracer):
    pid = world["c"].id_number
    masked = page(logged_in(county_user), f"/rounds/R1/area/{JJ_COMMUNITY}/")
    assert f"{pid[:6]}********{pid[-4:]}" in masked and pid not in masked
    assert "138****0003" in masked and "13805950003" not in masked and "桂香花园****" in masked
    full = page(logged_in(county_tracer), f"/rounds/R1/area/{JJ_COMMUNITY}/")
    assert pid in full and "13805950003" in full and "桂香花园5栋101" in full


def test_untested_list_and_export_are_audited(world, county_user):
    client = logged_in(county_user)
    page(client, f"/rounds/R1/area/{JJ_COMMUNITY}/")
    view = AuditEvent.objects.get(user=county_user, action="view", object_type="round_untested")
    assert view.object_id == JJ_COMMUNITY and view.detail["round"] == "R1" and view.detail["count"] == 1
    assert view.detail["masked"] is True
    client.get(f"/rounds/R1/area/{JJ_TOWN}/untested.csv")
    export = AuditEvent.objects.get(user=county_user, action="export", object_type="round_untested")
    assert export.object_id == JJ_TOWN and export.detail == {
        "round": "R1",
        "format": "csv",
        "rows": 1,
        "masked": True,
    }


def test_untested_export_content_and_headers(world, county_user, county_tracer):
    pid = world["c"].id_number
    response = logged_in(county_user).get(f"/rounds/R1/area/{JJ_COMMUNITY}/untested.csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith(f'attachment; filename="untested-R1-{JJ_COMMUNITY}-')
    assert response.content.startswith("\ufeff".encode())  # Excel opens UTF-8 with a BOM
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == UNTESTED_COLUMNS
    assert rows[1:] == [
        [
            JJ_COMMUNITY,
            "resident_id",
            f"{pid[:6]}********{pid[-4:]}",
            "卧床丙",
            "138****0003",
            "桂香花园****",
            "",  # bedridden is health data: not for a masked role
        ]
    ]
    full = logged_in(county_tracer).get(f"/rounds/R1/area/{JJ_TOWN}/untested.csv").content.decode("utf-8-sig")
    assert pid in full and "13805950003" in full and "bedridden" in full
    xlsx = logged_in(county_user).get(f"/rounds/R1/area/{JJ_TOWN}/untested.xlsx")
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    values = list(sheet.iter_rows(values_only=True))
    assert list(values[0]) == UNTESTED_COLUMNS and values[1][3] == "卧床丙" and pid not in str(values)
    assert (
        logged_in(county_user).get("/rounds/R1/area/350582/untested.csv").status_code == 404
    )  # county: too big


def test_coverage_matches_the_round_report(world, city_user):
    rnd = world["round"]
    report = {r["community_code"]: r for r in coverage_by_community(round_input(rnd)).to_pylist()}
    me = actor(city_user)
    for community in (JJ_COMMUNITY, LC_COMMUNITY):
        rows = {r["code"]: r for r in selectors.coverage_children(rnd=rnd, actor=me, parent=community[:9])}
        for column in COUNT_COLUMNS:
            assert rows[community][column] == report[community][column], (community, column)
    totals = selectors.coverage_totals(rnd=rnd, actor=me)
    assert totals["expected"] == sum(r["expected"] for r in report.values()) == 7


# --- the open-round form -----------------------------------------------------------------------


def test_open_round_form_opens_a_round(db, county_user):
    client = logged_in(county_user)
    form = page(client, "/rounds/")
    assert 'id="open-round"' in form and f'value="{JJ_TOWN}"' in form
    response = client.post(
        "/rounds/",
        {
            "code": "JJ-R1",
            "name": "晋江第一轮",
            "scope": [JJ_TOWN],
            "scope_extra": "",
            "pool_policy": "10",
            "starts_at": "2022-03-20T08:00",
            "deadline_at": "",
        },
    )
    assert response.status_code == 302 and response["Location"] == "/rounds/JJ-R1/"
    rnd = Round.objects.get(code="JJ-R1")
    assert rnd.scope == [JJ_TOWN] and rnd.opened_by == county_user
    assert timezone.localtime(rnd.starts_at).strftime("%Y-%m-%d %H:%M") == "2022-03-20 08:00"
    assert rnd.deadline_at - rnd.starts_at == dt.timedelta(hours=24)
    assert AuditEvent.objects.filter(action="create", object_type="round", object_id="JJ-R1").exists()


@pytest.mark.parametrize(
    ("data", "zh", "en"),
    [
        ({"scope_extra": "350502"}, "范围超出您的辖区：350502", "outside your jurisdiction: 350502"),
        ({}, "请指定筛查范围", "give the round a scope"),
        ({"scope": ["350582"], "code": ""}, "轮次编号不能为空", "the round code must be 1-32 characters"),
        (
            {"scope": ["350582"], "deadline_at": "2022-03-19T08:00"},
            "完成时限须晚于开始时间",
            "the deadline must be",
        ),
        ({"scope": ["350582"], "starts_at": "tomorrow"}, "开始时间格式无效", "the start is not a time"),
    ],
)
def test_open_round_form_shows_errors_in_chinese_and_english(db, county_user, data, zh, en):
    post = {"code": "BAD", "name": "x", "pool_policy": "10", "starts_at": "2022-03-20T08:00", **data}
    response = logged_in(county_user).post("/rounds/", post)
    body = response.content.decode()
    assert response.status_code == 400 and zh in body and en in body
    assert 'id="open-error"' in body and not Round.objects.exists()


def test_open_round_refused_for_roles_that_do_not_command(db):
    volunteer = make_user("vol", "volunteer", ["350582"])
    client = logged_in(volunteer)
    assert 'id="open-round"' not in page(client, "/rounds/")
    assert client.post("/rounds/", {"code": "X", "scope": ["350582"]}).status_code == 403
    assert not Round.objects.exists()


def test_close_round_refused_for_roles_that_do_not_command(world, county_user):
    sampler = make_user("jj_sampler", "sampler", ["350582"])
    assert logged_in(sampler).post("/rounds/R1/close/").status_code == 403
    assert Round.objects.get(code="R1").is_open
    # R1 spans Jinjiang and Licheng: a Jinjiang office may not close it for Licheng too.
    assert logged_in(county_user).post("/rounds/R1/close/").status_code == 403
    assert Round.objects.get(code="R1").is_open
    assert 'action="/rounds/R1/close/"' not in page(logged_in(county_user), "/rounds/R1/")
    city = make_user("city_cmd", "commander", ["3505"])
    response = logged_in(city).post("/rounds/R1/close/")
    assert response.status_code == 302 and not Round.objects.get(code="R1").is_open


# --- alerts, pools and re-check tasks ----------------------------------------------------------


def test_acknowledge_alert(world, county_user):
    client = logged_in(county_user)
    alert = PoolAlert.objects.get(tube__barcode="T-JJ-1")
    sampler = make_user("jj_sampler", "sampler", ["350582"])
    assert logged_in(sampler).post(f"/rounds/R1/alerts/{alert.pk}/ack/").status_code == 403
    assert client.get(f"/rounds/R1/alerts/{alert.pk}/ack/").status_code == 405
    response = client.post(f"/rounds/R1/alerts/{alert.pk}/ack/")
    assert response.status_code == 302 and response["Location"] == "/rounds/R1/"
    alert.refresh_from_db()
    assert alert.acknowledged_at is not None and alert.acknowledged_by == county_user
    event = AuditEvent.objects.get(action="update", object_type="pool_alert")
    assert event.object_id == str(alert.pk) and event.user == county_user
    body = page(client, "/rounds/R1/")
    assert f'id="alert-{alert.pk}"' not in body and "T-JJ-1" in body  # still listed among the pools


def test_acknowledge_alert_with_htmx_returns_the_banner(world, city_user):
    client = logged_in(city_user)
    jj = PoolAlert.objects.get(tube__barcode="T-JJ-1")
    response = client.post(f"/rounds/R1/alerts/{jj.pk}/ack/", HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert response.status_code == 200 and "<html" not in body
    assert 'id="round-alerts"' in body and "T-LC-1" in body and "T-JJ-1" not in body


def test_pool_page_shows_results_members_and_overdue_tasks(world, county_user):
    RecheckTask.objects.filter(person=world["a"]).update(due_sample_at=NOW - dt.timedelta(hours=1))
    client = logged_in(county_user)
    body = page(client, "/rounds/R1/pools/T-JJ-1/")
    pid = world["a"].id_number
    assert "初筛阳性" in body and "第一检测机构" in body
    assert "陈甲" in body and "陈乙" in body and f"{pid[:6]}********{pid[-4:]}" in body and pid not in body
    task_a = RecheckTask.objects.get(person=world["a"])
    task_b = RecheckTask.objects.get(person=world["b"])
    assert (
        f'<tr id="task-{task_a.pk}" class="overdue' in body and f'<tr id="task-{task_b.pk}" class="' in body
    )
    assert f'<tr id="task-{task_b.pk}" class="overdue' not in body
    event = AuditEvent.objects.get(action="view", object_type="pool_members")
    assert event.object_id == "T-JJ-1" and event.detail["count"] == 2


def test_pool_members_of_other_jurisdictions_are_hidden(world):
    """A pool sampled in Licheng with a Jinjiang member: a Jinjiang user sees the pool but only their member."""
    add_samples(
        [sample("R1", "T-MIX", world["lc2"], "LC-S1", 4), sample("R1", "T-MIX", world["c"], "LC-S1", 4)]
    )
    add_results([result("T-MIX", "inconclusive", 1)])
    worker = make_user("jj_worker", "community_worker", ["350582"])
    body = page(logged_in(worker), "/rounds/R1/pools/T-MIX/")
    assert "卧床丙" in body and "鲤城乙" not in body and "另有 1 人在其他辖区" in body


def test_tasks_list_filters_and_audit(world, county_user):
    client = logged_in(county_user)
    open_page = page(client, "/rounds/R1/tasks/")
    assert "陈甲" in open_page and "陈乙" in open_page and "鲤城甲" not in open_page
    assert "陈甲" not in page(client, "/rounds/R1/tasks/?status=overdue")
    RecheckTask.objects.filter(person=world["a"]).update(due_sample_at=NOW - dt.timedelta(minutes=5))
    overdue = page(client, "/rounds/R1/tasks/?status=overdue")
    assert "陈甲" in overdue and "陈乙" not in overdue
    events = AuditEvent.objects.filter(user=county_user, action="view", object_type="recheck_tasks")
    assert events.count() == 3 and {e.detail["filter"] for e in events} == {"open", "overdue"}


def test_recheck_registration_form(world, county_user):
    worker = make_user("jj_worker", "community_worker", ["350582"])
    client = logged_in(worker)
    task_a = RecheckTask.objects.get(person=world["a"])
    task_b = RecheckTask.objects.get(person=world["b"])
    tracer = make_user("jj_tracer2", "tracer", ["350582"])
    assert (
        logged_in(tracer).post(f"/rounds/R1/tasks/{task_a.pk}/sample/", {"barcode": "RC-1"}).status_code
        == 403
    )

    response = client.post(
        f"/rounds/R1/tasks/{task_a.pk}/sample/",
        {
            "barcode": "RC-1",
            "sampled_at": timezone.localtime(NOW).strftime("%Y-%m-%dT%H:%M"),
            "next": "/rounds/R1/tasks/",
        },
    )
    assert response.status_code == 302 and response["Location"] == "/rounds/R1/tasks/"
    task_a.refresh_from_db()
    assert task_a.status == TaskStatus.SAMPLED and task_a.check_tube.barcode == "RC-1"
    assert Sample.objects.filter(tube__barcode="RC-1", person=world["a"]).exists()
    assert AuditEvent.objects.filter(
        action="update", object_type="recheck_task", object_id=str(task_a.pk)
    ).exists()

    # The same barcode again (htmx): the row comes back with the error in both languages.
    response = client.post(
        f"/rounds/R1/tasks/{task_b.pk}/sample/", {"barcode": "RC-1"}, HTTP_HX_REQUEST="true"
    )
    body = response.content.decode()
    assert response.status_code == 200 and body.lstrip().startswith(f'<tr id="task-{task_b.pk}"')
    assert "管码 RC-1 已被使用" in body and "tube barcode RC-1 is already in use" in body
    task_b.refresh_from_db()
    assert task_b.status == TaskStatus.OPEN
    # Without htmx, the error comes back as a message on the page.
    followed = client.post(f"/rounds/R1/tasks/{task_b.pk}/sample/", {"barcode": "RC-1"}, follow=True)
    assert "管码 RC-1 已被使用 / tube barcode RC-1 is already in use" in followed.content.decode()
    bad_time = client.post(
        f"/rounds/R1/tasks/{task_b.pk}/sample/",
        {"barcode": "RC-2", "sampled_at": "2099-01-01T00:00"},
        follow=True,
    )
    assert "采样时间不能晚于当前时间" in bad_time.content.decode()

    # The single tube's negative result closes the task: it leaves the open list.
    add_results([result("RC-1", "negative", 0)])
    task_a.refresh_from_db()
    assert task_a.status == TaskStatus.NEGATIVE
    open_page = page(client, "/rounds/R1/tasks/?status=open")
    assert f'id="task-{task_a.pk}"' not in open_page and f'id="task-{task_b.pk}"' in open_page


# --- selectors behind the charts ---------------------------------------------------------------


def test_progress_turnaround_ages_and_throughput(world, county_user):
    rnd, me = world["round"], actor(county_user)
    progress = selectors.round_progress(rnd=rnd, actor=me)
    assert progress["sampled"][-1][1] == 3 and progress["resulted"][-1][1] == 2
    assert sum(n for _, n in progress["tubes_per_hour"]) == 1
    tubes = selectors.tube_counts(rnd=rnd, actor=me, now=NOW)
    assert dict(tubes["ages"]) == {"<2h": 0, "2-4h": 1, "4-6h": 0, ">6h": 0}
    (lab,) = selectors.lab_turnaround(rnd=rnd, actor=me)
    assert lab["code"] == "LAB1" and lab["tubes"] == 1 and lab["on_time"] == 1
    assert abs(lab["p50_hours"] - 3) < 0.1 and abs(lab["p90_hours"] - 3) < 0.1
    (site,) = selectors.site_throughput(rnd=rnd, actor=me)
    assert (site["code"], site["people"], site["tubes"], site["hours"]) == ("JJ-S1", 3, 2, 2)


# --- sites, labs and uploads -------------------------------------------------------------------


def _upload(client, url, name, text, **extra):
    f = io.BytesIO(text.encode("utf-8-sig"))
    f.name = name
    return client.post(url, {"file": f, **extra})


def test_sites_and_labs_pages_and_uploads(db, county_user, django_capture_on_commit_callbacks):
    client = logged_in(county_user)
    with django_capture_on_commit_callbacks(execute=True):
        response = _upload(
            client,
            "/screening/sites/",
            "sites.csv",
            f"site_code,name,community_code,desks\nJJ-S9,晋江九号,{JJ_COMMUNITY},3\nLC-S9,鲤城九号,{LC_COMMUNITY},1\n",
        )
    job = ImportJob.objects.get(kind="sites")
    assert response.status_code == 302 and response["Location"] == f"/imports/{job.pk}/"
    assert job.status == "done" and job.summary["accepted"] == 1 and job.summary["rejected"] == 1
    assert list(Site.objects.values_list("code", flat=True)) == ["JJ-S9"]  # Licheng is not theirs
    assert "晋江九号" in page(client, "/screening/sites/")
    # The labs are the city's: a county office neither sees the upload nor may post one.
    labs_csv = "lab_code,name,daily_capacity\nLAB9,九号实验室,20000\n"
    assert 'id="reference-upload"' not in page(client, "/screening/labs/")
    assert _upload(client, "/screening/labs/", "labs.csv", labs_csv).status_code == 403
    assert not ImportJob.objects.filter(kind="labs").exists()
    client = logged_in(make_user("city_off", "command_office", ["3505"]))
    with django_capture_on_commit_callbacks(execute=True):
        _upload(client, "/screening/labs/", "labs.csv", labs_csv)
    assert ImportJob.objects.get(kind="labs").status == "done"
    assert "九号实验室" in page(client, "/screening/labs/")
    assert _upload(client, "/screening/labs/", "labs.doc", "x").status_code == 400
    volunteer = make_user("vol", "volunteer", ["350582"])
    assert 'id="reference-upload"' not in page(logged_in(volunteer), "/screening/sites/")
    assert _upload(logged_in(volunteer), "/screening/sites/", "sites.csv", "site_code\n").status_code == 403


def test_round_page_upload_of_samples_and_results(world, county_user, django_capture_on_commit_callbacks):
    client = logged_in(county_user)
    body = f"round_code,tube_barcode,pool_size,id_number,site_code,collected_at\nR1,T-UP-1,10,{world['c'].id_number},JJ-S1,{format_time(NOW)}\n"
    with django_capture_on_commit_callbacks(execute=True):
        response = _upload(client, "/rounds/R1/upload/", "samples.csv", body, kind="samples")
    job = ImportJob.objects.get(kind="samples")
    assert response.status_code == 302 and response["Location"] == f"/imports/{job.pk}/"
    assert job.status == "done" and job.summary["accepted"] == 1, job.error
    assert 'id="stat-untested">0<' in page(client, "/rounds/R1/")
    with django_capture_on_commit_callbacks(execute=True):
        _upload(
            client,
            "/rounds/R1/upload/",
            "results.csv",
            f"tube_barcode,lab_code,result,reported_at\nT-UP-1,LAB1,阴性,{format_time(NOW)}\n",
            kind="results",
        )
    assert ImportJob.objects.get(kind="results").summary["accepted"] == 1
    lab_user = make_user("jj_lab", "lab", ["350582"])
    assert (
        _upload(logged_in(lab_user), "/rounds/R1/upload/", "s.csv", body, kind="samples").status_code == 403
    )


def test_nav_has_screening_entry(db, county_user):
    assert '<a href="/rounds/">核酸筛查</a>' in page(logged_in(county_user), "/")
    assert '<a href="/rounds/" class="active" aria-current="page">核酸筛查</a>' in page(
        logged_in(county_user), "/rounds/"
    )
