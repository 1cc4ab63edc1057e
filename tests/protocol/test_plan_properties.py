"""Properties of every plan, for every edition and category (hypothesis)."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from lianfang.protocol import CATEGORIES, EDITIONS, SHANGHAI, contact_plan

# hypothesis takes naive bounds and attaches the zones itself.
EARLIEST = dt.datetime(2020, 1, 1)  # noqa: DTZ001
LATEST = dt.datetime(2030, 12, 31)  # noqa: DTZ001
ZONES = st.sampled_from([SHANGHAI, dt.UTC, dt.timezone(dt.timedelta(hours=-5, minutes=-30))])


def local(value: dt.datetime) -> dt.date:
    return value.astimezone(SHANGHAI).date()


@given(
    code=st.sampled_from(sorted(EDITIONS)),
    category=st.sampled_from(CATEGORIES),
    exposure=st.datetimes(min_value=EARLIEST, max_value=LATEST, timezones=ZONES),
    delay=st.none() | st.timedeltas(min_value=dt.timedelta(days=-3), max_value=dt.timedelta(days=30)),
)
def test_test_days_ascend_within_the_plan_and_never_before_registration(code, category, exposure, delay):
    protocol = EDITIONS[code]
    measure = protocol.contacts[category]
    registered = None if delay is None else exposure + delay
    plan = contact_plan(protocol, category, exposure, registered)

    assert plan.ends_at - plan.last_exposure_at == dt.timedelta(days=measure.days)
    assert plan.monitoring_ends_at - plan.ends_at == dt.timedelta(days=measure.monitoring_days)
    assert list(plan.test_days) == sorted(set(plan.test_days))
    full = {local(exposure) + dt.timedelta(days=k) for k in measure.test_days}
    if registered is None:
        assert set(plan.test_days) == full
        assert all(day <= local(plan.monitoring_ends_at) for day in plan.test_days)
        return
    entry = local(registered)
    assert all(day >= entry for day in plan.test_days)
    assert set(plan.test_days) - full <= {entry}
    if entry <= local(plan.monitoring_ends_at):
        assert all(day <= local(plan.monitoring_ends_at) for day in plan.test_days)
    else:  # found after the plan ended: only the test on entry (when the category has tests)
        assert plan.test_days == ((entry,) if measure.test_days else ())
