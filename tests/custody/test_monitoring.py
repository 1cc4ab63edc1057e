"""Home health monitoring after a discharge (出院后居家健康监测): the rule (p9, p8, local dates),
monitoring tests on the discharged stay, the page of the home jurisdiction, the person panel and
the overdue fact ``monitor_test_day``.

The story: a Fengze resident is treated in a Jinjiang designated hospital and discharged. Jinjiang
sees the stay; Fengze (home) sees and records the monitoring; Licheng sees neither.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from lianfang import protocol
from lianfang.accounts.models import AuditEvent
from lianfang.accounts.roles import Role
from lianfang.accounts.scoping import NotPermitted
from lianfang.core import plugins
from lianfang.core.times import SHANGHAI
from lianfang.custody import rules, selectors
from lianfang.custody.models import Stay, StayTest
from lianfang.custody.services import CustodyError, stay_check_in, stay_end, stay_test_record
from tests.conftest import JINJIANG, JJ_COMMUNITY, LICHENG, actor, logged_in, make_person, make_user, rid
from tests.custody.helpers import discharge, make_place

FENGZE = "350503"
FZ_COMMUNITY = "350503001001"
P9, P8 = protocol.edition("p9"), protocol.edition("p8")
PHONE = "13700000777"


def _sh(y, m, d, hh=0, mm=0, ss=0) -> dt.datetime:
    return dt.datetime(y, m, d, hh, mm, ss, tzinfo=SHANGHAI)


# --- the rule ----------------------------------------------------------------------------------


def test_p9_counts_days_from_the_local_date_of_the_discharge():
    plan = protocol.after_discharge(P9, _sh(2022, 4, 1, 23, 30))
    assert plan.test_days == (dt.date(2022, 4, 4), dt.date(2022, 4, 8))  # days 3 and 7
    assert plan.ends_at == _sh(2022, 4, 8, 23, 30)  # 7 days to the minute
    assert plan.closes_at == _sh(2022, 4, 9)  # the end of the last local day
    assert plan.edition == "p9"


def test_a_discharge_late_in_the_utc_day_is_the_next_shanghai_day():
    # 16:30 UTC on 1 April is 00:30 on 2 April in Shanghai: day 0 is 2 April.
    utc = dt.datetime(2022, 4, 1, 16, 30, tzinfo=dt.UTC)
    plan = protocol.after_discharge(P9, utc)
    assert plan.test_days == (dt.date(2022, 4, 5), dt.date(2022, 4, 9))
    # 15:59 UTC is still 1 April (23:59 in Shanghai).
    early = protocol.after_discharge(P9, dt.datetime(2022, 4, 1, 15, 59, tzinfo=dt.UTC))
    assert early.test_days == (dt.date(2022, 4, 4), dt.date(2022, 4, 8))


def test_p8_monitors_14_days_with_tests_on_days_2_and_7():
    plan = protocol.after_discharge(P8, _sh(2022, 4, 1, 10))
    assert plan.test_days == (dt.date(2022, 4, 3), dt.date(2022, 4, 8))
    assert plan.ends_at == _sh(2022, 4, 15, 10)
    assert plan.closes_at == _sh(2022, 4, 16)


def test_the_numbers_come_from_the_edition():
    other = replace(
        P9,
        code="x",
        treatment=replace(P9.treatment, after_discharge_monitoring_days=5, after_discharge_test_days=(1, 9)),
    )
    plan = protocol.after_discharge(other, _sh(2022, 4, 1, 10))
    assert plan.test_days == (dt.date(2022, 4, 2), dt.date(2022, 4, 10))
    assert plan.ends_at == _sh(2022, 4, 6, 10)
    assert plan.closes_at == _sh(2022, 4, 11)  # a test day after the end keeps the window open


def test_the_window_runs_from_the_discharge_to_the_end_of_the_last_day():
    plan = protocol.after_discharge(P9, _sh(2022, 4, 1, 10))
    assert not plan.running(_sh(2022, 4, 1, 9, 59))
    assert plan.running(_sh(2022, 4, 1, 10))
    assert plan.running(_sh(2022, 4, 8, 23, 59, 59))  # after ends_at (10:00), still day 7
    assert not plan.running(_sh(2022, 4, 9))
    with pytest.raises(ValueError, match="timezone-aware"):
        protocol.after_discharge(P9, dt.datetime(2022, 4, 1, 10))  # noqa: DTZ001 - the point


def test_a_day_is_done_by_a_test_that_local_day_and_missed_after_its_midnight():
    out = _sh(2022, 4, 1, 10)
    tests = [
        rules.Test(_sh(2022, 4, 1, 9), "negative"),  # before the discharge: the stay's, not the monitoring's
        rules.Test(_sh(2022, 4, 4, 23, 59), "negative"),  # day 3, late in the evening
        rules.Test(_sh(2022, 4, 8, 0, 0), "invalid"),  # day 7: an invalid sample is no test
    ]
    m = rules.monitoring(P9, out, tests, _sh(2022, 4, 9, 0, 0))
    assert [(d.day, d.done) for d in m.days] == [(dt.date(2022, 4, 4), True), (dt.date(2022, 4, 8), False)]
    assert [d.day for d in m.missed] == [dt.date(2022, 4, 8)]
    assert len(m.tests) == 2 and not m.positive
    # One second before the midnight after day 7 it is not missed yet: it is the next day.
    before = rules.monitoring(P9, out, tests, _sh(2022, 4, 8, 23, 59, 59))
    assert before.missed == [] and before.next_day.day == dt.date(2022, 4, 8)
    # A test at 00:00 on day 4 is not a day-3 test.
    m = rules.monitoring(P9, out, [rules.Test(_sh(2022, 4, 5), "negative")], _sh(2022, 4, 6))
    assert [d.day for d in m.missed] == [dt.date(2022, 4, 4)]
    assert rules.monitoring(P9, out, [rules.Test(_sh(2022, 4, 5), "positive")], _sh(2022, 4, 6)).positive


# --- the world: a Fengze resident discharged from a Jinjiang hospital ---------------------------


def _today_at(days: int, hour: int) -> dt.datetime:
    """Local ``hour`` o'clock ``days`` from today (Asia/Shanghai)."""
    today = timezone.now().astimezone(SHANGHAI).date()
    return dt.datetime.combine(today + dt.timedelta(days=days), dt.time(hour), tzinfo=SHANGHAI)


@pytest.fixture
def world(db):
    """Discharged on day -4 at 00:05 local: p9's day 3 (yesterday) is missed, day 7 is in 3 days."""
    person = make_person(
        id_number=rid(FENGZE, "19700303", "321"),
        name="丰泽出院",
        community_code=FZ_COMMUNITY,
        phone=PHONE,
        address="丰泽街道3栋501",
    )
    hospital = make_place("JJ-D1", JJ_COMMUNITY, kind="designated_hospital", units="1-3")
    stay = discharge(person, hospital, discharged_at=_today_at(-4, 0) + dt.timedelta(minutes=5))
    return {
        "person": person,
        "stay": stay,
        "hospital": hospital,
        "fz_worker": make_user("fz_grid", Role.COMMUNITY_WORKER, [FZ_COMMUNITY]),
        "fz_office": make_user("fz_office", Role.COMMAND_OFFICE, [FENGZE]),
        "jj_office": make_user("jj_office_m", Role.COMMAND_OFFICE, [JINJIANG]),
        "jj_staff": make_user("jj_ward", Role.ISOLATION, [JINJIANG]),
        "lc_office": make_user("lc_office_m", Role.COMMAND_OFFICE, [LICHENG]),
    }


def _record(user, stay, at, result="negative"):
    return stay_test_record(actor=actor(user), stay=stay, sampled_at=at, result=result)


# --- recording monitoring tests -----------------------------------------------------------------


def test_the_home_grid_worker_records_a_monitoring_test(world):
    test = _record(world["fz_worker"], world["stay"], _today_at(-1, 8))
    assert test.stay_id == world["stay"].pk
    event = AuditEvent.objects.filter(action="monitoring_test").get()
    assert event.object_id == str(world["stay"].pk)
    m = selectors.stay_monitoring(world["stay"], actor(world["fz_worker"]))
    assert m.days[0].done and m.missed == []


def test_the_discharging_place_may_not_record_the_monitoring(world):
    with pytest.raises(CustodyError) as exc:
        _record(world["jj_staff"], world["stay"], _today_at(-1, 8))
    assert exc.value.code == "person_out_of_jurisdiction"
    with pytest.raises(NotPermitted):  # a role without the verb, even at home
        _record(make_user("fz_sampler", Role.SAMPLER, [FENGZE]), world["stay"], _today_at(-1, 8))
    assert not StayTest.objects.filter(sampled_at__gte=world["stay"].ended_at).exists()


def test_a_test_outside_the_window_is_refused_in_chinese_and_english(world):
    stay = world["stay"]
    with pytest.raises(CustodyError) as exc:
        _record(world["fz_worker"], stay, stay.ended_at - dt.timedelta(minutes=1))
    assert exc.value.code == "outside_monitoring"
    assert "出院后居家健康监测期" in exc.value.zh and "home health monitoring" in exc.value.en
    assert f"{stay.ended_at.astimezone(SHANGHAI):%Y-%m-%d %H:%M}" in exc.value.zh
    # Past the end of the window: the stay moved back 8 days (p9 closes after day 7).
    Stay.objects.filter(pk=stay.pk).update(ended_at=stay.ended_at - dt.timedelta(days=8))
    stay.refresh_from_db()
    with pytest.raises(CustodyError) as exc:
        _record(world["fz_worker"], stay, _today_at(-1, 8))
    assert exc.value.code == "outside_monitoring"
    with pytest.raises(CustodyError) as exc:  # and still never in the future
        _record(world["fz_worker"], world["stay"], timezone.now() + dt.timedelta(hours=1))
    assert exc.value.code == "future_time"


def test_a_released_stay_takes_no_monitoring_test(db):
    person = make_person(id_number=rid(FENGZE, "19710303", "322"), community_code=FZ_COMMUNITY)
    hotel = make_place("FZ-H1", FZ_COMMUNITY)
    stay = stay_check_in(actor=None, place=hotel, id_type="resident_id", id_number=person.id_number)
    Stay.objects.filter(pk=stay.pk).update(ended_at=timezone.now(), end_kind="released")
    with pytest.raises(CustodyError) as exc:
        stay_test_record(actor=None, stay=stay, sampled_at=timezone.now(), result="negative")
    assert exc.value.code == "stay_ended"


# --- the page ---------------------------------------------------------------------------------


def _rows(response) -> str:
    text = response.content.decode()
    return text[text.index('id="monitoring"') :]


def test_the_home_county_sees_the_monitoring_unmasked_for_the_grid_worker(world):
    page = logged_in(world["fz_worker"]).get("/custody/monitoring/")
    assert page.status_code == 200
    rows = _rows(page)
    assert "丰泽出院" in rows and f'href="tel:{PHONE}"' in rows
    assert "丰泽街道3栋501" in rows
    assert '<td class="num c-missed">1</td>' in rows  # day 3 was yesterday, no test
    assert _today_at(3, 0).strftime("%Y-%m-%d") in rows  # the next test day: day 7
    event = AuditEvent.objects.filter(object_type="monitoring").get()
    assert event.action == "view" and event.detail["count"] == 1 and event.detail["masked"] is False


def test_the_county_office_sees_it_masked(world):
    rows = _rows(logged_in(world["fz_office"]).get("/custody/monitoring/"))
    assert "丰泽出院" in rows and PHONE not in rows and "137****0777" in rows
    assert "tel:" not in rows and "3栋501" not in rows
    assert AuditEvent.objects.filter(object_type="monitoring").get().detail["masked"] is True


def test_the_discharging_county_sees_the_stay_not_the_monitoring(world):
    client = logged_in(world["jj_office"])
    assert "丰泽出院" not in _rows(client.get("/custody/monitoring/"))
    stay_page = client.get(f"/custody/stays/{world['stay'].pk}/")
    assert stay_page.status_code == 200 and 'id="monitoring"' not in stay_page.content.decode()
    # Home: the same page shows the monitoring and its form to the grid worker.
    home = logged_in(world["fz_worker"]).get(f"/custody/stays/{world['stay'].pk}/").content.decode()
    assert 'id="monitoring"' in home and 'id="monitor-test-form"' in home


def test_another_county_sees_neither(world):
    client = logged_in(world["lc_office"])
    assert "丰泽出院" not in _rows(client.get("/custody/monitoring/"))
    assert client.get(f"/custody/stays/{world['stay'].pk}/").status_code == 404
    assert client.post(f"/custody/stays/{world['stay'].pk}/test/", {}).status_code == 404


def test_the_discharging_place_gets_404_on_a_monitoring_test_post(world):
    url = f"/custody/stays/{world['stay'].pk}/test/"
    form = {"sampled_at": _today_at(-1, 8).strftime("%Y-%m-%dT%H:%M"), "result": "negative"}
    assert logged_in(world["jj_staff"]).post(url, form).status_code == 404
    assert logged_in(world["fz_worker"]).post(url, form).status_code == 302
    assert StayTest.objects.filter(stay=world["stay"], sampled_at__gte=world["stay"].ended_at).count() == 1


def test_the_form_shows_the_refusal_of_a_test_outside_the_window(world):
    client = logged_in(world["fz_worker"])
    url = f"/custody/stays/{world['stay'].pk}/test/"
    before = (world["stay"].ended_at - dt.timedelta(hours=2)).astimezone(SHANGHAI)
    page = client.post(
        url, {"sampled_at": before.strftime("%Y-%m-%dT%H:%M"), "result": "negative"}, follow=True
    )
    text = page.content.decode()
    assert "采样时间不在出院后居家健康监测期内" in text and "home health monitoring after discharge" in text


def test_a_positive_result_is_shown_red_with_the_next_step(world):
    _record(world["fz_worker"], world["stay"], _today_at(-1, 8), result="positive")
    rows = _rows(logged_in(world["fz_worker"]).get("/custody/monitoring/"))
    assert 'class="overdue abnormal"' in rows and "badge-danger" in rows
    assert f'href="/people/{world["person"].pk}/"' in rows


def test_the_person_page_shows_the_monitoring_to_the_home_jurisdiction(world):
    text = logged_in(world["fz_worker"]).get(f"/people/{world['person'].pk}/").content.decode()
    assert 'id="person-monitoring"' in text and _today_at(-1, 0).strftime("%Y-%m-%d") in text


def test_the_page_reads_in_a_constant_number_of_queries(world):
    client = logged_in(world["fz_office"])
    client.get("/custody/monitoring/")  # warm the session and the plugin registry
    with CaptureQueriesContext(connection) as one:
        client.get("/custody/monitoring/")
    hospital = world["hospital"]
    for seq in ("331", "332", "333"):
        other = make_person(id_number=rid(FENGZE, "19720303", seq), community_code=FZ_COMMUNITY)
        stay = discharge(other, hospital, discharged_at=_today_at(-2, 9))
        _record(world["fz_worker"], stay, _today_at(-1, 9))
    with CaptureQueriesContext(connection) as four:
        page = client.get("/custody/monitoring/")
    assert page.content.decode().count("data-stay=") == 4
    assert len(four) == len(one), [q["sql"] for q in four.captured_queries]


# --- the overdue fact -------------------------------------------------------------------------


def test_a_missed_test_day_is_overdue_for_the_home_jurisdiction_after_its_midnight(world):
    overdue = plugins.provider("overdue.custody")
    fz, jj = actor(world["fz_office"]), actor(world["jj_office"])
    day3 = _today_at(-1, 0).date()
    midnight = _today_at(0, 0)
    [item] = [o for o in overdue(fz, midnight) if o.kind == "monitor_test_day"]
    assert item.ref == f"monitor_test_day:{world['stay'].pk}:{day3.isoformat()}"
    assert (item.division_code, item.due_at) == (FZ_COMMUNITY, midnight)
    assert item.url == f"/custody/stays/{world['stay'].pk}/"
    assert not [o for o in overdue(fz, midnight - dt.timedelta(seconds=1)) if o.kind == "monitor_test_day"]
    assert not [o for o in overdue(jj, None) if o.kind == "monitor_test_day"]  # not the place's
    _record(world["fz_worker"], world["stay"], _today_at(-1, 20))
    assert not [o for o in overdue(fz, None) if o.kind == "monitor_test_day"]


def test_a_missed_day_leaves_the_board_the_day_after_the_window_closed(world):
    overdue = plugins.provider("overdue.custody")
    fz = actor(world["fz_office"])
    closes = protocol.after_discharge(P9, world["stay"].ended_at).closes_at
    kinds = lambda at: sorted(o.ref for o in overdue(fz, at) if o.kind == "monitor_test_day")  # noqa: E731
    assert len(kinds(closes)) == 2  # days 3 and 7 both missed
    assert len(kinds(closes + dt.timedelta(days=1) - dt.timedelta(seconds=1))) == 2
    assert kinds(closes + dt.timedelta(days=1)) == []


def test_a_person_checked_in_again_has_no_missed_home_days(world):
    overdue = plugins.provider("overdue.custody")
    fz = actor(world["fz_office"])
    place = make_place("FZ-F1", FZ_COMMUNITY, kind="fangcang")
    stay_check_in(
        actor=None,
        place=place,
        id_type="resident_id",
        id_number=world["person"].id_number,
        at=_today_at(-1, 6),
    )
    assert not [o for o in overdue(fz, None) if o.kind == "monitor_test_day"]
    rows = _rows(logged_in(world["fz_office"]).get("/custody/monitoring/"))
    assert "已再次入住" in rows


def test_the_stays_edition_gives_the_days_p8(world):
    Stay.objects.filter(pk=world["stay"].pk).update(edition="p8")
    stay = Stay.objects.get(pk=world["stay"].pk)
    m = selectors.stay_monitoring(stay, actor(world["fz_office"]))
    assert [d.day for d in m.days] == [_today_at(-2, 0).date(), _today_at(3, 0).date()]  # days 2 and 7
    assert m.plan.ends_at == stay.ended_at + dt.timedelta(days=14)


def test_discharge_then_end_of_the_stay_keeps_the_discharge_tests_apart(world):
    """The discharge rule still reads the stay's own tests: monitoring tests come after ``ended_at``."""
    _record(world["fz_worker"], world["stay"], _today_at(-1, 8))
    view = selectors.stay_view(world["stay"], actor(world["jj_office"]))
    assert all(
        t.sampled_at < world["stay"].ended_at for t in view["tests"]
    )  # the place: not the monitoring's
    home = selectors.stay_view(world["stay"], actor(world["fz_office"]))
    assert len(home["tests"]) == len(view["tests"]) + 1
    with pytest.raises(CustodyError):
        stay_end(actor=None, stay=world["stay"])
