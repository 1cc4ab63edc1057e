"""Where an infected person is treated, and when they may leave (DOMAIN.md §4, first row).

Placement: moderate, severe or critical, or high risk (age ≥ 60, a chronic disease, late
pregnancy) → designated hospital (定点医院); mild and asymptomatic → makeshift hospital (方舱).
Discharge: two tests at least 24 h apart, each with N and ORF1ab Ct ≥ 35 (values per edition).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from .clock import aware
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
