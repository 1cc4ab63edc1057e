"""The shipped editions: ``p9`` (default), ``p8`` and ``community-2022``, and their lookup.

Sources, by section (DOMAIN.md and FORMATS.md quote the national text they rely on):
- screening: DOMAIN.md §3 (regional testing guidance, 3rd edition, March 2022); 20混1 from
  April 2022, so only ``p9`` lists it; ``sample_pool_sizes`` is the samples.csv contract.
- contacts: ``p9`` is FORMATS.md "lianfang trace plans" exactly; ``p8`` is the 8th edition
  (DOMAIN.md §4: 14 d central + 7 d home) — its test days, and its contacts of contacts
  quarantined centrally (the change the 9th edition's release describes), are marked verify.
- tracing, transfer, command: DOMAIN.md §1 and §4 time targets (local practice, verify).
- treatment: DOMAIN.md §4 (Ct ≥ 35, 24 h apart; 9th edition: 7 days home monitoring, tests on
  days 3 and 7); the earlier 14-day monitoring is marked verify.
- zones: DOMAIN.md §2 and FORMATS.md "Zones" (``zones.py``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from .contacts import ContactMeasure, ContactRules
from .model import Protocol
from .sections import Command, Livelihood, Screening, Tracing, Transfer, Treatment

DEFAULT_EDITION = "p9"


class UnknownEdition(ValueError):
    """An edition code no deployment knows."""

    def __init__(self, code: object) -> None:
        self.code = code
        super().__init__(
            f"未知的防控方案版本 / unknown protocol edition: {code} (known: {', '.join(EDITIONS)})"
        )


_SCREENING = Screening(
    round_hours=24,
    pool_sizes={"single": 1, "household": None, "5": 5, "10": 10, "20": 20},
    sample_pool_sizes=(1, 5, 10, 20),
    exempt_under_years=2,
    recheck_arrive_hours=2,
    recheck_result_hours=6,
    result_target_hours=6,
    negative_proof_hours=48,
    people_per_site=(2000, 3000),
    people_per_desk=(600, 800),
    people_per_sampler=360,
    min_rounds=3,
    verify=("recheck_arrive_hours", "recheck_result_hours"),
)

# Categories both editions treat alike (FORMATS.md table; DOMAIN.md §4: "2 tests in 3 days").
_COMPANION = ContactMeasure(measure="test_monitoring", days=3, monitoring_days=0, test_days=(1, 3))
_VENUE = replace(_COMPANION, verify=("days", "test_days"))
_GENERAL = ContactMeasure(
    measure="health_monitoring", days=7, monitoring_days=0, test_days=(), verify=("days", "test_days")
)

_P9_CONTACTS = ContactRules(
    {
        "close": ContactMeasure(
            measure="central_quarantine", days=7, monitoring_days=3, test_days=(1, 2, 3, 5, 7, 10)
        ),
        "secondary": ContactMeasure(
            measure="home_quarantine", days=7, monitoring_days=0, test_days=(1, 4, 7)
        ),
        "companion": _COMPANION,
        "venue": _VENUE,
        "general": _GENERAL,
    }
)

_P8_CONTACTS = ContactRules(
    {
        # 14 d central (tests days 1, 4, 7, 14) + 7 d home monitoring (its days 2 and 7).
        "close": ContactMeasure(
            measure="central_quarantine",
            days=14,
            monitoring_days=7,
            test_days=(1, 4, 7, 14, 16, 21),
            verify=("test_days",),
        ),
        "secondary": ContactMeasure(
            measure="central_quarantine",
            days=7,
            monitoring_days=0,
            test_days=(1, 4, 7),
            verify=("measure", "test_days"),
        ),
        "companion": _COMPANION,
        "venue": _VENUE,
        "general": _GENERAL,
    }
)

_TRACING = Tracing(
    positive_report_hours=2,
    core_trace_hours=4,
    trace_report_hours=24,
    onset_lookback_days=4,
    companion_cell_m=800,
    companion_codwell_minutes=10,
    companion_lookback_days=14,
    companion_cumulative_hours=None,
    venue_buffer_minutes={"default": 30, "market": 60, "restaurant": 60, "banquet": 120},
    verify=("positive_report_hours", "core_trace_hours", "trace_report_hours", "venue_buffer_minutes"),
)

_TRANSFER = Transfer(
    close_contact_hours=8,
    secondary_contact_hours=12,
    # A confirmed case to 方舱 or a designated hospital: local practice (transfer and tracing start
    # together once the CDC confirms, DOMAIN.md §3); no national number.
    case_hours=4,
    verify=("close_contact_hours", "secondary_contact_hours", "case_hours"),
)

_P9_TREATMENT = Treatment(
    hospital_age=60,
    hospital_conditions=("chronic_disease", "late_pregnancy"),
    hospital_severities=("moderate", "severe", "critical"),
    discharge_tests=2,
    discharge_gap_hours=24,
    discharge_ct_min=35,
    after_discharge_monitoring_days=7,
    after_discharge_test_days=(3, 7),
)

_P8_TREATMENT = replace(
    _P9_TREATMENT,
    after_discharge_monitoring_days=14,
    after_discharge_test_days=(2, 7),
    verify=("discharge_ct_min", "after_discharge_monitoring_days", "after_discharge_test_days"),
)

_COMMAND = Command(
    problem_fix_hours=24,
    problem_fix_same_day=True,
    directive_ack_hours=2,
    escalate_after_hours=24,
    tube_pending_hours=8,
    alert_ack_minutes=30,
    place_full_percent=90,
    # Local practice: grid workers knock on every untested door within the round's first half day.
    untested_visit_hours=12,
    verify=(
        "directive_ack_hours",
        "escalate_after_hours",
        "tube_pending_hours",
        "alert_ack_minutes",
        "place_full_percent",
        "untested_visit_hours",
    ),
)

# 保民生 (DOMAIN.md §6): urgent care in minutes, medicine within the morning, food within the day.
_LIVELIHOOD = Livelihood(
    accept_minutes={"urgent": 15, "priority": 120, "normal": 240},
    deliver_minutes={"urgent": 60, "priority": 360, "normal": 1440},
    verify=("accept_minutes", "deliver_minutes"),
)

P9 = Protocol(
    code="p9",
    name_zh="新型冠状病毒肺炎防控方案（第九版）",
    name_en="COVID-19 prevention and control protocol, 9th edition",
    issued=dt.date(2022, 6, 27),
    source="国务院联防联控机制综合组《新型冠状病毒肺炎防控方案（第九版）》",
    screening=_SCREENING,
    contacts=_P9_CONTACTS,
    tracing=_TRACING,
    transfer=_TRANSFER,
    treatment=_P9_TREATMENT,
    zones="p9",
    command=_COMMAND,
    livelihood=_LIVELIHOOD,
)

P8 = replace(
    P9,
    code="p8",
    name_zh="新型冠状病毒肺炎防控方案（第八版）",
    name_en="COVID-19 prevention and control protocol, 8th edition",
    issued=dt.date(2021, 5, 11),
    source="国务院联防联控机制综合组《新型冠状病毒肺炎防控方案（第八版）》",
    screening=replace(_SCREENING, pool_sizes={k: v for k, v in _SCREENING.pool_sizes.items() if k != "20"}),
    contacts=_P8_CONTACTS,
    treatment=_P8_TREATMENT,
    zones="community-2022",
)

COMMUNITY_2022 = replace(
    P8,
    code="community-2022",
    name_zh="三区分级管控（2022年3月，泉州）",
    name_en="Three-zone community control (March 2022, Quanzhou)",
    issued=dt.date(2022, 3, 28),
    source="泉州联防联控实践（东南网，2022-03-28）；密接规则沿用第八版防控方案",
)

EDITIONS: dict[str, Protocol] = {P8.code: P8, P9.code: P9, COMMUNITY_2022.code: COMMUNITY_2022}
"""Code → edition. The order is the one error messages list them in."""


def edition(code: str) -> Protocol:
    """The edition ``code`` (surrounding spaces and case ignored); ``UnknownEdition`` otherwise."""
    key = code.strip().lower() if isinstance(code, str) else code
    try:
        return EDITIONS[key]
    except (KeyError, TypeError):
        raise UnknownEdition(code) from None


def editions() -> list[Protocol]:
    """Every known edition, sorted by code."""
    return [EDITIONS[code] for code in sorted(EDITIONS)]
