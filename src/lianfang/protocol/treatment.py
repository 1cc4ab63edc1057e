"""Where an infected person is treated, and when they may leave (DOMAIN.md §4, first row).

Placement: moderate, severe or critical, or high risk (age ≥ 60, a chronic disease, late
pregnancy) → designated hospital (定点医院); mild and asymptomatic → makeshift hospital (方舱).
Discharge: two tests at least 24 h apart, each with N and ORF1ab Ct ≥ 35 (values per edition);
then home health monitoring (出院后居家健康监测) with its test days (:func:`after_discharge`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from .clock import SHANGHAI, aware, local_date
from .model import Protocol
from .sections import SEVERITIES

DESIGNATED_HOSPITAL = "designated_hospital"
FANGCANG = "fangcang"
PLACEMENTS = (DESIGNATED_HOSPITAL, FANGCANG)

DischargeTest = tuple[dt.datetime, float | None, float | None]
"""(sampled_at, ct_n, ct_orf1ab)."""


def placement(protocol: Protocol, *, age: int | None, conditions: Iterable[str], severity: str | None) -> str:
    """``"designated_hospital"`` or ``"fangcang"``. An unknown age or severity does not by itself
    send someone to hospital; condition codes outside the protocol's list are ignored."""
    rules = protocol.treatment
    if severity is not None and severity not in SEVERITIES:
        raise ValueError(f"未知的病情分型 / unknown severity: {severity} (known: {', '.join(SEVERITIES)})")
    if age is not None and age < 0:
        raise ValueError(f"年龄不能为负 / age cannot be negative: {age}")
    if isinstance(conditions, str):
        conditions = (conditions,)
    high_risk = (age is not None and age >= rules.hospital_age) or bool(
        set(conditions) & set(rules.hospital_conditions)
    )
    if high_risk or severity in rules.hospital_severities:
        return DESIGNATED_HOSPITAL
    return FANGCANG


def _meets(protocol: Protocol, ct_n: float | None, ct_orf1ab: float | None) -> bool:
    floor = protocol.treatment.discharge_ct_min
    return ct_n is not None and ct_orf1ab is not None and ct_n >= floor and ct_orf1ab >= floor


def discharge_ready(protocol: Protocol, tests: Iterable[DischargeTest]) -> bool:
    """Whether the latest tests allow discharge: after the last test that fails the Ct rule (a
    missing Ct fails), ``discharge_tests`` passing tests each ≥ ``discharge_gap_hours`` after the
    previous one counted. Input order does not matter."""
    rules = protocol.treatment
    rows = []
    for sampled_at, ct_n, ct_orf1ab in tests:
        passed = _meets(protocol, ct_n, ct_orf1ab)
        # At the same instant a failing test sorts last, so it is never hidden by a passing one.
        rows.append((aware(sampled_at, "sampled_at"), not passed))
    rows.sort()
    last_failure = max((i for i, (_, failed) in enumerate(rows) if failed), default=-1)
    run = [sampled_at for sampled_at, _ in rows[last_failure + 1 :]]
    gap = dt.timedelta(hours=rules.discharge_gap_hours)
    counted, last = 0, None
    for sampled_at in run:
        if last is None or sampled_at - last >= gap:
            counted, last = counted + 1, sampled_at
    return counted >= rules.discharge_tests


@dataclass(frozen=True, slots=True)
class AfterDischarge:
    """Home health monitoring after a discharge. Times are Asia/Shanghai; ``test_days`` ascend."""

    edition: str
    discharged_at: dt.datetime
    ends_at: dt.datetime
    test_days: tuple[dt.date, ...]
    closes_at: dt.datetime

    def running(self, at: dt.datetime) -> bool:
        """Whether ``at`` lies in the monitoring window: discharged, and before ``closes_at``."""
        return self.discharged_at <= aware(at, "at") < self.closes_at


def after_discharge(protocol: Protocol, discharged_at: dt.datetime) -> AfterDischarge:
    """The home health monitoring ``protocol`` gives a case discharged at ``discharged_at``.

    The day counting of the contacts' plans (``plans.py``): day k is the Asia/Shanghai date of the
    discharge + k (the discharge day is day 0), so p9's days 3 and 7 after a discharge at 23:30 on
    the 1st are the 4th and the 8th. ``ends_at`` is the discharge time + ``monitoring_days`` days,
    to the minute (as a plan's ``monitoring_ends_at``). ``closes_at`` is the local midnight ending
    the later of ``ends_at``'s date and the last test day: the last day's test may be taken at any
    hour of that day (a discharge at 10:00 does not make a test at 15:00 on day 7 too late).
    """
    rules = protocol.treatment
    start = aware(discharged_at, "discharged_at")
    day0 = local_date(start)
    days = tuple(day0 + dt.timedelta(days=k) for k in rules.after_discharge_test_days)
    ends_at = start + dt.timedelta(days=rules.after_discharge_monitoring_days)
    last = max((local_date(ends_at), *days))
    closes_at = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), tzinfo=SHANGHAI)
    return AfterDischarge(
        edition=protocol.code, discharged_at=start, ends_at=ends_at, test_days=days, closes_at=closes_at
    )
