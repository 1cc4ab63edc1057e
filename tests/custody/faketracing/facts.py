CASES: list = []
PLANS: list = []


def cases_as_of(at=None):
    return [c for c in CASES if at is None or c.reported_at <= at]


def plans_as_of(at=None):
    return [p for p in PLANS if at is None or p.registered_at <= at]
