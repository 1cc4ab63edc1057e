"""The facts as the tests set them: cases, contacts (as plans), discharges, overdue hand-offs.

Each provider applies the contract's "as of" semantics itself, the way the real apps must."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from lianfang.core.facts import CaseFact, Overdue, PlanFact, ReleaseFact

CASES: list[CaseFact] = []
PLANS: list[PlanFact] = []
RELEASES: list[ReleaseFact] = []
OVERDUE: list[Overdue] = []


def clear() -> None:
    for items in (CASES, PLANS, RELEASES, OVERDUE):
        items.clear()


def cases_as_of(at: dt.datetime | None) -> list[CaseFact]:
    out = []
    for case in CASES:
        if at is not None and case.reported_at > at:
            continue
        if at is not None and case.confirmed_at is not None and case.confirmed_at > at:
            case = replace(case, confirmed_at=None)
        out.append(case)
    return out


def plans_as_of(at: dt.datetime | None) -> list[PlanFact]:
    cases = {c.id_number for c in cases_as_of(at)}
    return [p for p in PLANS if (at is None or p.registered_at <= at) and p.id_number not in cases]


def discharges_as_of(at: dt.datetime | None) -> list[ReleaseFact]:
    return [r for r in RELEASES if at is None or r.at <= at]


def overdue(actor, at) -> list[Overdue]:
    return [o for o in OVERDUE if actor is None or actor.covers(o.division_code)]
