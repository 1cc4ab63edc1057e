"""When a stay may end, from its tests, the person's plan and the edition (no database here).

- Release from isolation (a contact): the plan has ended its custody part (``ends_at``), every
  test day of the plan that falls in the stay (check-in's local date to ``ends_at``'s) has a
  negative test sampled that day, and no test of the stay was other than negative.
- Discharge from treatment (a case): ``protocol.treatment.discharge_ready`` over the stay's tests.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from lianfang.core.facts import PlanFact
from lianfang.core.times import SHANGHAI
from lianfang.protocol.model import Protocol
from lianfang.protocol.treatment import discharge_ready


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
