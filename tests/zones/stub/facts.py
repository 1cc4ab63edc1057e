"""The stated facts: tests append CaseFact and PlanFact rows; both filter them as of ``at``."""

CASES: list = []
PLANS: list = []


def cases_as_of(at=None):
    return [c for c in CASES if at is None or c.reported_at <= at]


def plans_as_of(at=None):
    return [p for p in PLANS if at is None or (p.upgraded_at or p.registered_at) <= at]
