"""The plain-number sections of a protocol: screening, tracing, transfer, treatment, command.

Each section is a frozen dataclass. ``verify`` lists the fields that are local practice rather
than national text (DOMAIN.md marks them *(verify)*), so the UI can say "local practice, verify".
Where each value comes from is in ``editions.py``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from ._frozen import FrozenMap, check_verify

SEVERITIES = ("mild", "moderate", "severe", "critical")
"""Case severity codes of cases.csv (FORMATS.md, Tracing)."""

POOL_POLICY_LABELS = FrozenMap(
    {
        "single": ("单采单检", "one person per tube"),
        "household": ("一户一管", "one tube per household"),
        "5": ("5混1", "5 per tube"),
        "10": ("10混1", "10 per tube"),
        "20": ("20混1", "20 per tube"),
    }
)


def _freeze(section: object, *names: str) -> None:
    """Store mapping fields as ``FrozenMap`` and sequence fields as tuples (editions pass literals)."""
    for name in names:
        value = getattr(section, name)
        frozen = FrozenMap(value) if isinstance(value, Mapping) else tuple(value)
        object.__setattr__(section, name, frozen)


def _ceil_div(population: int, per: int) -> int:
    return math.ceil(max(population, 0) / per)


@dataclass(frozen=True, slots=True)
class Screening:
    """Mass screening (DOMAIN.md §3): round length, pool sizes, exemptions, staffing ratios."""

    round_hours: int
    pool_sizes: Mapping[str, int | None]
    sample_pool_sizes: tuple[int, ...]
    exempt_under_years: int
    recheck_arrive_hours: int
    recheck_result_hours: int
    result_target_hours: int
    negative_proof_hours: int
    people_per_site: tuple[int, int]
    people_per_desk: tuple[int, int]
    people_per_sampler: int
    min_rounds: int
    verify: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _freeze(self, "pool_sizes", "sample_pool_sizes", "people_per_site", "people_per_desk", "verify")
        check_verify(self)

    def sites_for(self, population: int) -> tuple[int, int]:
        """Sampling sites needed for ``population``: (fewest, most) from ``people_per_site``."""
        low, high = self.people_per_site
        return _ceil_div(population, high), _ceil_div(population, low)

    def desks_for(self, population: int) -> tuple[int, int]:
        """Sampling desks needed for ``population``: (fewest, most) from ``people_per_desk``."""
        low, high = self.people_per_desk
        return _ceil_div(population, high), _ceil_div(population, low)

    def samplers_for(self, population: int) -> int:
        """Sampling staff for ``population`` (≈ population ÷ ``people_per_sampler``)."""
        return _ceil_div(population, self.people_per_sampler)


@dataclass(frozen=True, slots=True)
class Tracing:
    """Tracing clocks and matching parameters (DOMAIN.md §4, FORMATS.md "Tracing")."""

    positive_report_hours: int
    core_trace_hours: int
    trace_report_hours: int
    onset_lookback_days: int
    companion_cell_m: int
    companion_codwell_minutes: int
    companion_lookback_days: int
    companion_cumulative_hours: float | None
    venue_buffer_minutes: Mapping[str, int]
    verify: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _freeze(self, "venue_buffer_minutes", "verify")
        if "default" not in self.venue_buffer_minutes:
            raise ValueError('venue_buffer_minutes 需要 "default" / needs a "default" entry')
        check_verify(self)

    def venue_buffer(self, venue_type: str | None) -> int:
        """Minutes a case's venue visit is widened by for ``venue_type`` (else the default)."""
        return self.venue_buffer_minutes.get(venue_type or "default", self.venue_buffer_minutes["default"])


@dataclass(frozen=True, slots=True)
class Transfer:
    """Deadlines to bring people under control (DOMAIN.md §4): contacts counted from their
    registration (or upgrade), cases from their report, to central quarantine or treatment."""

    close_contact_hours: int
    secondary_contact_hours: int
    case_hours: int
    verify: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _freeze(self, "verify")
        check_verify(self)

    def hours_for(self, category: str) -> int | None:
        """The transfer deadline of a contact category (or ``"case"``); ``None`` when it is not
        transferred."""
        return {
            "case": self.case_hours,
            "close": self.close_contact_hours,
            "secondary": self.secondary_contact_hours,
        }.get(category)


@dataclass(frozen=True, slots=True)
class Treatment:
    """Placement of the infected and discharge (DOMAIN.md §4, first row of the table)."""

    hospital_age: int
    hospital_conditions: tuple[str, ...]
    hospital_severities: tuple[str, ...]
    discharge_tests: int
    discharge_gap_hours: int
    discharge_ct_min: float
    after_discharge_monitoring_days: int
    after_discharge_test_days: tuple[int, ...]
    verify: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _freeze(self, "hospital_conditions", "hospital_severities", "after_discharge_test_days", "verify")
        unknown = set(self.hospital_severities) - set(SEVERITIES)
        if unknown:
            raise ValueError(f"未知的病情分型 / unknown severities: {sorted(unknown)}")
        if self.discharge_tests < 1:
            raise ValueError("discharge_tests 至少为 1 / must be at least 1")
        check_verify(self)


@dataclass(frozen=True, slots=True)
class Command:
    """Supervision clocks (DOMAIN.md §1): problem fixes, directive acknowledgement, escalation,
    and the thresholds of the problems the platform raises from data (a lab's turnaround uses
    ``Screening.result_target_hours``, re-check tasks their own clocks, a round its deadline).

    ``escalate_after_hours``: an open problem goes one level up when it is past its deadline, or
    this long after it was filed if that comes first (a deadline set far out by hand). ``tube_pending_hours``: a tube with no result this long after its first
    sample is pending too long. ``alert_ack_minutes``: an abnormal pool's alert not acknowledged
    within this is raised. ``place_full_percent``: an isolation or treatment place with at least
    this share of its rooms or beds taken is raised (nearly full: find the next one now).
    ``untested_visit_hours``: this long after a round opened, every person still on its untested
    list should have had a door visit (入户走访) by a grid worker; a community with people nobody
    visited is raised."""

    problem_fix_hours: int
    problem_fix_same_day: bool
    directive_ack_hours: int
    escalate_after_hours: int
    tube_pending_hours: int
    alert_ack_minutes: int
    place_full_percent: int
    untested_visit_hours: int
    verify: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _freeze(self, "verify")
        check_verify(self)
        if not 0 < self.place_full_percent <= 100:
            raise ValueError(f"place_full_percent must be 1–100: {self.place_full_percent}")
        if self.untested_visit_hours < 1:
            raise ValueError(f"untested_visit_hours must be at least 1: {self.untested_visit_hours}")


@dataclass(frozen=True, slots=True)
class Livelihood:
    """Residents' requests in sealed and controlled zones (保民生, DOMAIN.md §6): how many minutes
    a request of each urgency may wait to be accepted, and to be delivered, before it is late.
    An urgent request (dialysis, labour, an emergency) not accepted in its minutes escalates once
    to the community's head and the command board. Local practice: every value is *(verify)*."""

    accept_minutes: Mapping[str, int]  # urgency → minutes from filing to acceptance
    deliver_minutes: Mapping[str, int]  # urgency → minutes from filing to delivery at the door
    verify: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _freeze(self, "accept_minutes", "deliver_minutes", "verify")
        if set(self.accept_minutes) != set(self.deliver_minutes):
            raise ValueError(
                "受理与送达时限须覆盖相同的紧急程度 / accept and deliver minutes must cover the same urgencies"
            )
        check_verify(self)
