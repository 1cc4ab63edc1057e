"""Contact plans: the FORMATS.md "lianfang trace plans" table, the late rule, editions, errors."""

from __future__ import annotations

import datetime as dt

import pytest

from lianfang.protocol import SHANGHAI, edition, plan_for
from lianfang.protocol.plans import contact_plan, late_test_days

P9 = edition("p9")
P8 = edition("p8")
# 07:00 in Shanghai is still the previous day in UTC: passing it in UTC checks that day k is
# counted from the *local* date of the last exposure.
EXPOSURE = dt.datetime(2022, 3, 19, 23, 0, tzinfo=dt.UTC)
LOCAL_EXPOSURE = dt.datetime(2022, 3, 20, 7, 0, tzinfo=SHANGHAI)


def day(k: int) -> dt.date:
    return dt.date(2022, 3, 20) + dt.timedelta(days=k)


@pytest.mark.parametrize(
    ("category", "measure", "days", "monitoring", "test_days"),
    [
        ("close", "central_quarantine", 7, 3, (1, 2, 3, 5, 7, 10)),
        ("secondary", "home_quarantine", 7, 0, (1, 4, 7)),
        ("companion", "test_monitoring", 3, 0, (1, 3)),
        ("venue", "test_monitoring", 3, 0, (1, 3)),
        ("general", "health_monitoring", 7, 0, ()),
    ],
)
def test_p9_plan_follows_the_formats_table(category, measure, days, monitoring, test_days):
    plan = contact_plan(P9, category, EXPOSURE)
    assert plan.edition == "p9"
    assert plan.category == category
    assert plan.measure == measure
    assert plan.last_exposure_at == LOCAL_EXPOSURE
    assert plan.last_exposure_at.tzinfo is SHANGHAI
    assert plan.ends_at == LOCAL_EXPOSURE + dt.timedelta(days=days)
    assert plan.monitoring_ends_at == plan.ends_at + dt.timedelta(days=monitoring)
    assert plan.test_days == tuple(day(k) for k in test_days)


def test_close_plan_written_as_the_report_writes_it():
    plan = contact_plan(P9, "close", EXPOSURE)
    assert plan.test_days_text == "2022-03-21;2022-03-22;2022-03-23;2022-03-25;2022-03-27;2022-03-30"
    assert plan.ended(plan.monitoring_ends_at)
    assert not plan.ended(plan.monitoring_ends_at - dt.timedelta(seconds=1))


def test_found_on_day_4_drops_days_1_to_3_and_tests_on_entry():
    registered = dt.datetime(2022, 3, 24, 15, 30, tzinfo=SHANGHAI)
    plan = contact_plan(P9, "close", EXPOSURE, registered)
    assert plan.test_days == (day(4), day(5), day(7), day(10))
    assert plan.registered_at == registered
    # The clocks still run from the last exposure (缺几天补几天: only what is left is served).
    assert plan.ends_at == LOCAL_EXPOSURE + dt.timedelta(days=7)


def test_found_on_a_test_day_adds_no_duplicate():
    registered = dt.datetime(2022, 3, 25, 9, 0, tzinfo=SHANGHAI)  # day 5
    assert contact_plan(P9, "close", EXPOSURE, registered).test_days == (day(5), day(7), day(10))


def test_registration_uses_the_local_date():
    # 2022-03-23 20:00 UTC is 2022-03-24 04:00 in Shanghai: day 4, not day 3.
    registered = dt.datetime(2022, 3, 23, 20, 0, tzinfo=dt.UTC)
    assert contact_plan(P9, "secondary", EXPOSURE, registered).test_days == (day(4), day(7))


def test_found_in_time_keeps_every_test_day():
    on_day_1 = dt.datetime(2022, 3, 21, 23, 59, tzinfo=SHANGHAI)
    same_day = dt.datetime(2022, 3, 20, 8, 0, tzinfo=SHANGHAI)
    full = contact_plan(P9, "close", EXPOSURE).test_days
    assert contact_plan(P9, "close", EXPOSURE, on_day_1).test_days == full
    assert contact_plan(P9, "close", EXPOSURE, same_day).test_days == full


def test_found_after_the_plan_gets_only_the_entry_test():
    # FORMATS.md applies the rule literally: every day was dropped, so the date of finding is added.
    registered = dt.datetime(2022, 4, 5, 10, 0, tzinfo=SHANGHAI)
    assert contact_plan(P9, "companion", EXPOSURE, registered).test_days == (dt.date(2022, 4, 5),)
    assert contact_plan(P9, "general", EXPOSURE, registered).test_days == ()


def test_late_test_days_is_the_rule_on_dates():
    days = [day(1), day(3)]
    assert late_test_days(days, None) == (day(1), day(3))
    assert late_test_days(days, day(2)) == (day(2), day(3))
    assert late_test_days(days, day(1)) == (day(1), day(3))


def test_p8_close_plan_is_14_days_central_plus_7_home():
    p9, p8 = contact_plan(P9, "close", EXPOSURE), contact_plan(P8, "close", EXPOSURE)
    assert (p8.edition, p8.measure) == ("p8", "central_quarantine")
    assert p8.ends_at == LOCAL_EXPOSURE + dt.timedelta(days=14) != p9.ends_at
    assert p8.monitoring_ends_at == LOCAL_EXPOSURE + dt.timedelta(days=21) != p9.monitoring_ends_at
    assert p8.test_days == tuple(day(k) for k in (1, 4, 7, 14, 16, 21))


def test_community_2022_uses_the_8th_edition_contact_rules():
    community = contact_plan(edition("community-2022"), "close", EXPOSURE)
    p8 = contact_plan(P8, "close", EXPOSURE)
    assert community.edition == "community-2022"
    assert (community.ends_at, community.monitoring_ends_at, community.test_days) == (
        p8.ends_at,
        p8.monitoring_ends_at,
        p8.test_days,
    )


def test_unknown_category_is_refused_in_both_languages():
    with pytest.raises(ValueError) as caught:
        contact_plan(P9, "neighbour", EXPOSURE)
    assert str(caught.value) == (
        "未知的接触者类别 / unknown contact category: neighbour "
        "(known: close, secondary, companion, venue, general)"
    )
    with pytest.raises(ValueError, match="unknown contact category"):
        contact_plan(P9, "密接", EXPOSURE)


def test_naive_times_are_refused():
    naive = dt.datetime(2022, 3, 20, 7, 0)  # noqa: DTZ001 — the point of the test
    with pytest.raises(ValueError, match=r"必须带时区 / last_exposure must be timezone-aware"):
        contact_plan(P9, "close", naive)
    with pytest.raises(ValueError, match=r"必须带时区 / registered_at must be timezone-aware"):
        contact_plan(P9, "close", EXPOSURE, naive)
    with pytest.raises(TypeError, match="must be a datetime"):
        contact_plan(P9, "close", dt.date(2022, 3, 20))


def test_resident_of_a_high_zone_found_elsewhere():
    measure = P9.zones.type("high").resident_measure
    plan = plan_for(measure, edition="p9", category="zone:high", last_exposure=EXPOSURE)
    assert plan.measure == "central_quarantine"
    assert plan.ends_at == plan.monitoring_ends_at == LOCAL_EXPOSURE + dt.timedelta(days=7)
    assert plan.test_days == tuple(day(k) for k in (1, 2, 3, 5, 7))
