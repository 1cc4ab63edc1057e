"""When a stay may end, from its tests, the person's plan and the edition (no database here).

- Release from isolation (a contact): the plan has ended its custody part (``ends_at``), every
  test day of the plan that falls in the stay (check-in's local date to ``ends_at``'s) has a
  negative test sampled that day, and no test of the stay was other than negative.
- Discharge from treatment (a case): ``protocol.treatment.discharge_ready`` over the stay's tests.
- After a discharge, home health monitoring (``protocol.after_discharge`` of the stay's edition):
  its test days, each done when a test with a result (not ``invalid``) was sampled that local day
  after the discharge, missed once the local midnight after it has passed without one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from lianfang.core.facts import PlanFact
from lianfang.core.times import SHANGHAI
from lianfang.protocol.model import Protocol
from lianfang.protocol.treatment import AfterDischarge, after_discharge, discharge_ready


@dataclass(frozen=True)
class Test:
    sampled_at: dt.datetime
    result: str
    ct_n: float | None = None
    ct_orf1ab: float | None = None


@dataclass(frozen=True)
class TestDay:
    day: dt.date
    done: bool  # a negative test was sampled that local day
    due_at: dt.datetime  # the next local midnight: past it, the day is overdue


def local_date(value: dt.datetime) -> dt.date:
    return value.astimezone(SHANGHAI).date()


def day_end(day: dt.date) -> dt.datetime:
    """The local midnight that closes ``day`` (a calendar fact, not a protocol duration)."""
    return dt.datetime.combine(dt.date.fromordinal(day.toordinal() + 1), dt.time(), tzinfo=SHANGHAI)


def test_days(plan: PlanFact | None, checked_in_at: dt.datetime, tests: Iterable[Test]) -> list[TestDay]:
    """The plan's test days that fall in the custody part of the stay, each with its state."""
    if plan is None:
        return []
    negative_days = {local_date(t.sampled_at) for t in tests if t.result == "negative"}
    first, last = local_date(checked_in_at), local_date(plan.plan.ends_at)
    return [
        TestDay(day=d, done=d in negative_days, due_at=day_end(d))
        for d in plan.plan.test_days
        if first <= d <= last
    ]


def release_blockers(
    *,
    tracing_installed: bool,
    is_case: bool,
    plan: PlanFact | None,
    checked_in_at: dt.datetime,
    tests: list[Test],
    at: dt.datetime,
) -> list[str]:
    """Why a contact may not be released at ``at`` (reason codes; empty: they may)."""
    if not tracing_installed:
        return ["tracing_absent"]
    if is_case:
        return ["is_a_case"]
    if plan is None:
        return ["no_plan"]
    blockers = []
    if at < plan.plan.ends_at:
        blockers.append("plan_not_ended")
    if any(t.result != "negative" for t in tests):
        blockers.append("not_negative")
    if not all(d.done for d in test_days(plan, checked_in_at, tests)):
        blockers.append("tests_missing")
    return blockers


def discharge_blockers(protocol: Protocol, tests: list[Test]) -> list[str]:
    """Why a case may not be discharged (the discharge rule of the stay's edition)."""
    if discharge_ready(protocol, [(t.sampled_at, t.ct_n, t.ct_orf1ab) for t in tests]):
        return []
    return ["discharge_not_ready"]


@dataclass(frozen=True)
class MonitorDay:
    day: dt.date
    done: bool  # a test with a result was sampled that local day, after the discharge
    due_at: dt.datetime  # the next local midnight: past it without a test, the day is missed

    def missed(self, at: dt.datetime) -> bool:
        return not self.done and self.due_at <= at


@dataclass(frozen=True)
class Monitoring:
    """A discharged case's home health monitoring, with its tests as they stood at ``at``."""

    plan: AfterDischarge
    days: tuple[MonitorDay, ...]
    tests: tuple[Test, ...]  # those sampled in the window, at or before ``at``
    at: dt.datetime

    @property
    def missed(self) -> list[MonitorDay]:
        return [d for d in self.days if d.missed(self.at)]

    @property
    def next_day(self) -> MonitorDay | None:
        """The first test day without a test whose local midnight has not passed (today counts)."""
        return next((d for d in self.days if not d.done and d.due_at > self.at), None)

    @property
    def positive(self) -> bool:
        """A test during monitoring was other than negative (positive or inconclusive)."""
        return any(t.result in ("positive", "inconclusive") for t in self.tests)

    @property
    def running(self) -> bool:
        return self.plan.running(self.at)


def in_window(plan: AfterDischarge, sampled_at: dt.datetime) -> bool:
    """Whether a test sampled at ``sampled_at`` belongs to the monitoring (discharge ≤ t < close)."""
    return plan.discharged_at <= sampled_at < plan.closes_at


def monitoring(
    protocol: Protocol, discharged_at: dt.datetime, tests: Iterable[Test], at: dt.datetime
) -> Monitoring:
    """The monitoring after ``discharged_at`` under ``protocol`` (the stay's edition), at ``at``:
    only the tests sampled in its window and not after ``at`` count."""
    plan = after_discharge(protocol, discharged_at)
    kept = tuple(
        sorted(
            (t for t in tests if in_window(plan, t.sampled_at) and t.sampled_at <= at),
            key=lambda t: t.sampled_at,
        )
    )
    tested = {local_date(t.sampled_at) for t in kept if t.result != "invalid"}
    days = tuple(MonitorDay(day=d, done=d in tested, due_at=day_end(d)) for d in plan.test_days)
    return Monitoring(plan=plan, days=days, tests=kept, at=at)
