"""Pages for the people who use them (issue 11): the home page's "act now" list, a round page
whose numbers reconcile, and search results that say where a person lives and how they stand."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.template import Context, Template
from django.utils import timezone, translation
from lxml import html

from lianfang.core import plugins
from lianfang.imports.models import ImportJob
from lianfang.screening.models import PoolAlert, RecheckTask
from lianfang.screening.services import alert_acknowledge
from tests.conftest import JJ_COMMUNITY, LC_COMMUNITY, logged_in, make_person, make_user, rid
from tests.web.test_screening_pages import add_samples, page, sample
from tests.web.test_screening_pages import world as world  # noqa: F401 - the fixture

JJ_TOWN = JJ_COMMUNITY[:9]


def _doc(body: str):
    return html.fromstring(body)


# --- home: act now -------------------------------------------------------------------------------


def test_screening_and_the_shared_pages_declare_home_sections():
    declared = [s.context for s in plugins.home_sections()]
    assert declared.index("lianfang.screening.home.act_now") < declared.index(
        "lianfang.web.home.failed_imports"
    )


def test_home_lists_the_live_round_unsigned_pools_and_overdue_rechecks_before_statistics(world, county_user):
    RecheckTask.objects.filter(community_id=JJ_COMMUNITY).update(
        due_sample_at=timezone.now() - dt.timedelta(minutes=5)
    )
    body = page(logged_in(county_user), "/")
    doc = _doc(body)
    acts = doc.get_element_by_id("act-now")
    # Before the statistics: the act-now section precedes the population cards.
    assert body.index('id="act-now"') < body.index('id="total-registered"')
    items = {li.get("data-act"): li for li in acts.iter("li")}
    round_item = items["round"]
    assert round_item.xpath(".//a/@href") == ["/rounds/R1/"]
    deadline = timezone.localtime(world["round"].deadline_at).strftime("%m-%d %H:%M")
    assert deadline in round_item.text_content()
    alerts = items["alerts"]
    assert "1 个异常混管待签收" in alerts.text_content()
    assert "/rounds/R1/pools/T-JJ-1/" in alerts.xpath(".//a/@href")
    assert "T-LC-1" not in body  # Licheng's pool is not this county's to sign
    overdue = items["overdue-tasks"]
    assert "2 个复核任务已超时" in overdue.text_content()
    assert overdue.xpath(".//a/@href") == ["/rounds/R1/tasks/?status=overdue"]


def test_a_signed_alert_leaves_the_list(world, county_user):
    alert = PoolAlert.objects.get(tube__barcode="T-JJ-1")
    alert_acknowledge(actor=None, alert=alert)
    doc = _doc(page(logged_in(county_user), "/"))
    assert not doc.xpath('//li[@data-act="alerts"]')
    assert doc.xpath('//li[@data-act="round"]')  # the round itself is still live


def test_home_lists_the_users_failed_imports_only(db, county_user, city_user):
    mine = ImportJob.objects.create(
        user=county_user, file_path="x", original_name="底数-晋江.csv", status="failed", error="bad"
    )
    ImportJob.objects.create(
        user=county_user,
        file_path="y",
        original_name="rejects.csv",
        status="done",
        summary={"read": 5, "accepted": 2, "duplicate": 0, "held": 0, "rejected": 3},
    )
    ImportJob.objects.create(
        user=county_user,
        file_path="z",
        original_name="clean.csv",
        status="done",
        summary={"read": 5, "accepted": 5, "duplicate": 0, "held": 0, "rejected": 0},
    )
    ImportJob.objects.create(user=city_user, file_path="w", original_name="城市.csv", status="failed")
    doc = _doc(page(logged_in(county_user), "/"))
    imports = doc.xpath('//li[@data-act="import"]')
    text = " ".join(li.text_content() for li in imports)
    assert len(imports) == 2, text
    assert "导入失败" in text and "底数-晋江.csv" in text and "导入有 3 行被拒绝" in text
    assert "clean.csv" not in text and "城市.csv" not in text
    assert f"/imports/{mine.pk}/" in doc.xpath('//li[@data-act="import"]//a/@href')


def test_home_says_when_there_is_nothing_to_act_on(db, county_user):
    doc = _doc(page(logged_in(county_user), "/"))
    assert doc.get_element_by_id("act-now-empty") is not None
    assert not doc.xpath("//li[@data-act]")


def test_home_in_english(world, county_user):
    client = logged_in(county_user)
    client.cookies["django_language"] = "en"
    text = _doc(page(client, "/")).get_element_by_id("act-now").text_content()
    assert "Act now" in text and "1 abnormal pool to sign for" in text


@pytest.mark.parametrize("lang", ["zh-hans", "en"])
def test_counts_are_grouped_by_thousands_in_both_languages(lang):
    with translation.override(lang):
        out = Template("{% load humanize %}{{ n|intcomma }}").render(Context({"n": 1234567}))
    assert out == "1,234,567"


# --- the round page reconciles -------------------------------------------------------------------


def _terms(doc, line: str) -> dict[str, int]:
    node = doc.get_element_by_id(line)
    return {
        b.get("data-term"): int(b.text_content().replace(",", "")) for b in node.xpath(".//b[@data-term]")
    }


def test_round_identity_line_adds_up_with_unregistered_and_out_of_scope_people(world, county_user):
    add_samples(
        [
            sample("R1", "T-JJ-3", world["baby"], "JJ-S1", 2),  # exempt, sampled anyway
            sample("R1", "T-JJ-3", world["lc2"], "JJ-S1", 2),  # a Licheng resident at a Jinjiang site
            {**sample("R1", "T-JJ-3", world["a"], "JJ-S1", 2), "id_number": rid("350582", "19850505", "091")},
        ]
    )
    doc = _doc(page(logged_in(county_user), "/rounds/R1/"))
    people = _terms(doc, "identity-people")
    assert people == {"expected": 5, "exempt": 1, "sampled": 4, "sampled_exempt": 1, "untested": 1}
    assert (
        people["expected"] - people["exempt"]
        == people["sampled"] - people["sampled_exempt"] + people["untested"]
    )
    sites = _terms(doc, "identity-sites")
    assert sites == {"at_sites": 6, "in_area": 4, "unregistered": 1, "out_of_scope": 1}
    assert sites["at_sites"] == sites["in_area"] + sites["unregistered"] + sites["out_of_scope"]
    # The cards say what they count: people, tubes.
    units = {
        card.xpath('.//*[@class="label"]')[0].text_content(): card.xpath('.//*[@class="unit"]/text()')
        for card in doc.xpath('//div[@class="cards"]/div')
    }
    assert (
        units["应检人数"] == ["人"]
        and units["异常混管"] == ["管"]
        and units["待出结果管数（辖区内采样点）"] == ["管"]
    )


def test_coverage_breaks_a_county_into_its_towns_and_leaves_empty_divisions_out(
    world, county_user, city_user
):
    county = _doc(page(logged_in(county_user), "/rounds/R1/"))
    chart = json.loads(county.get_element_by_id("screening-data").text)["coverage"]
    assert chart["names"] == ["青阳街道"] and chart["urls"] == [f"/rounds/R1/area/{JJ_TOWN}/"]
    assert (
        "金井镇" in county.get_element_by_id("coverage-empty").text_content()
    )  # a town with nobody registered
    city_user_round = _doc(page(logged_in(city_user), "/rounds/R1/"))
    chart = json.loads(city_user_round.get_element_by_id("screening-data").text)["coverage"]
    assert sorted(chart["names"]) == ["晋江市", "鲤城区"]
    assert all(v > 0 for v in chart["expected"])


def test_city_round_keeps_jinmen_out_of_charts_and_rates(db, city_user):
    from lianfang.screening.services import round_open

    make_person(id_number=rid("350582", "19800101", "011"), name="陈甲")
    round_open(
        actor=None, code="RC", name="全市", scope=["3505"], starts_at=timezone.now() - dt.timedelta(hours=1)
    )
    doc = _doc(page(logged_in(city_user), "/rounds/RC/"))
    chart = json.loads(doc.get_element_by_id("screening-data").text)["coverage"]
    assert chart["names"] == ["晋江市"]
    assert "金门县" in doc.get_element_by_id("coverage-empty").text_content()
    assert "金门县" not in doc.get_element_by_id("coverage-table").text_content()


# --- search --------------------------------------------------------------------------------------


def test_pinyin_query_lists_the_exact_surname_first(db, county_user):
    for i, name in enumerate(["连杰", "凌峰", "刘伟", "黎华", "李明", "李安"]):
        make_person(id_number=rid("350582", "19800101", f"{100 + i}"), name=name)
    doc = _doc(page(logged_in(county_user), "/people/?q=li"))
    names = [a.text_content() for a in doc.xpath('//td[contains(@class, "c-name")]/a')]
    assert names[:3] == ["李安", "李明", "黎华"], names
    assert set(names[3:]) == {"连杰", "凌峰", "刘伟"}


def test_search_results_show_town_and_current_round_status(world, county_user):
    doc = _doc(page(logged_in(county_user), "/people/?q=" + "陈"))
    rows = {
        tr.xpath('.//td[contains(@class, "c-name")]/a')[0].text_content(): tr
        for tr in doc.xpath("//table[contains(@class, 'people')]/tbody/tr")
    }
    assert set(rows) == {"陈甲", "陈乙", "陈戊"}
    assert "本轮状态（R1）" in [th.text_content() for th in doc.xpath("//th")]
    status = {
        name: tr.xpath('.//td[contains(@class, "c-status")]')[0].text_content().strip()
        for name, tr in rows.items()
    }
    assert status == {"陈甲": "异常", "陈乙": "异常", "陈戊": "待出结果"}
    assert all(
        tr.xpath('.//td[contains(@class, "c-place")]')[0].text_content() == "青阳街道" for tr in rows.values()
    )
    more = _doc(page(logged_in(county_user), "/people/?q=" + "婴儿丁"))
    assert more.xpath('//td[contains(@class, "c-status")]')[0].text_content().strip() == "豁免"
    bed = _doc(page(logged_in(county_user), "/people/?q=" + "卧床丙"))
    assert bed.xpath('//td[contains(@class, "c-status")]')[0].text_content().strip() == "未检"


def test_phone_is_tap_to_call_only_when_shown_in_full(world, db):
    worker = make_user("jj_grid", "community_worker", [JJ_COMMUNITY])
    doc = _doc(page(logged_in(worker), f"/rounds/R1/area/{JJ_COMMUNITY}/"))
    assert "tel:13805950003" in doc.xpath("//table[@id='untested']//a/@href")
    office = make_user("jj_office2", "command_office", ["350582"])
    masked = _doc(page(logged_in(office), f"/rounds/R1/area/{JJ_COMMUNITY}/"))
    assert not [h for h in masked.xpath("//a/@href") if h.startswith("tel:")]
    assert LC_COMMUNITY not in doc.xpath("string(//table[@id='untested'])")
