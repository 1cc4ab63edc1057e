"""Placement of the infected and the discharge rule (DOMAIN.md §4)."""

from __future__ import annotations

import datetime as dt

import pytest

from lianfang.protocol import SHANGHAI, discharge_ready, edition, placement

P9 = edition("p9")
T0 = dt.datetime(2022, 3, 28, 9, 0, tzinfo=SHANGHAI)


def place(age=30, conditions=(), severity="mild"):
    return placement(P9, age=age, conditions=conditions, severity=severity)


def test_age_60_goes_to_a_designated_hospital_59_to_fangcang():
    assert place(age=60) == "designated_hospital"
    assert place(age=59) == "fangcang"


def test_high_risk_conditions_and_severity():
    assert place(conditions=["late_pregnancy"]) == "designated_hospital"
    assert place(conditions=["chronic_disease"]) == "designated_hospital"
    assert place(conditions=["pregnant"]) == "fangcang"  # not late pregnancy
    assert place(severity="moderate") == "designated_hospital"
    assert place(severity="critical") == "designated_hospital"
    assert place(severity=None) == "fangcang"  # asymptomatic
    assert place(age=None, severity=None) == "fangcang"


def test_placement_refuses_what_it_cannot_read():
    with pytest.raises(ValueError, match="未知的病情分型 / unknown severity: grave"):
        place(severity="grave")
    with pytest.raises(ValueError, match="age cannot be negative"):
        place(age=-1)


def test_two_tests_must_be_24_hours_apart():
    assert not discharge_ready(P9, [(T0, 36, 36), (T0 + dt.timedelta(hours=23), 36, 36)])
    assert discharge_ready(P9, [(T0, 36, 36), (T0 + dt.timedelta(hours=24), 36, 36)])


def test_both_cts_must_reach_35():
    later = T0 + dt.timedelta(hours=24)
    assert not discharge_ready(P9, [(T0, 34.9, 36), (later, 36, 36)])
    assert not discharge_ready(P9, [(T0, 36, 36), (later, 36, 34.9)])
    assert discharge_ready(P9, [(T0, 35, 35), (later, 35.0, 35.0)])
    assert not discharge_ready(P9, [(T0, None, 36), (later, 36, 36)])


def test_only_the_latest_run_of_passing_tests_counts():
    day = dt.timedelta(hours=24)
    passing_then_failing = [(T0, 36, 36), (T0 + day, 36, 36), (T0 + 2 * day, 30, 31)]
    assert not discharge_ready(P9, passing_then_failing)
    assert discharge_ready(P9, [*passing_then_failing, (T0 + 3 * day, 36, 36), (T0 + 4 * day, 37, 38)])
    # Input order does not matter.
    assert discharge_ready(P9, [(T0 + day, 36, 36), (T0 - day, 20, 20), (T0, 36, 36)])
    assert not discharge_ready(P9, [(T0, 36, 36)])
    assert not discharge_ready(P9, [])


def test_discharge_refuses_naive_sample_times():
    naive = dt.datetime(2022, 3, 28, 9, 0)  # noqa: DTZ001 — the point of the test
    with pytest.raises(ValueError, match="sampled_at must be timezone-aware"):
        discharge_ready(P9, [(naive, 36, 36)])


def test_after_discharge_monitoring_by_edition():
    assert (P9.treatment.after_discharge_monitoring_days, P9.treatment.after_discharge_test_days) == (
        7,
        (3, 7),
    )
    p8 = edition("p8").treatment
    assert (p8.after_discharge_monitoring_days, p8.after_discharge_test_days) == (14, (2, 7))
    assert {"after_discharge_monitoring_days", "after_discharge_test_days"} <= set(p8.verify)
