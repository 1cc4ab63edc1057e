"""Control plans of contacts (FORMATS.md "lianfang trace plans").

Every clock starts at the last exposure. Day k is the Asia/Shanghai date of the last exposure
+ k. Found late, serve what is left (缺几天补几天, DOMAIN.md §4): test days before the local date
of registration are dropped and, when any were dropped, that date is added (a test on entry).
For an upgraded contact the caller passes ``upgraded_at`` as ``registered_at``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from .clock import aware, local_date
from .contacts import ContactMeasure
from .model import Protocol


@dataclass(frozen=True, slots=True)
class Plan:
    """One person's plan. Times are Asia/Shanghai; ``test_days`` ascend."""

    edition: str
    category: str
    measure: str
    last_exposure_at: dt.datetime
    ends_at: dt.datetime
    monitoring_ends_at: dt.datetime
    test_days: tuple[dt.date, ...]
    registered_at: dt.datetime | None = None

    @property
    def test_days_text(self) -> str:
        """``test_days`` as the plans report writes them: ``YYYY-MM-DD`` joined by ``;``."""
        return ";".join(day.isoformat() for day in self.test_days)

    def ended(self, at: dt.datetime) -> bool:
        """Whether the plan has ended at ``at`` (``monitoring_ends_at`` ≤ ``at``, FORMATS.md "Zones")."""
        return self.monitoring_ends_at <= aware(at, "at")


def late_test_days(days: Iterable[dt.date], registered_on: dt.date | None) -> tuple[dt.date, ...]:
    """Apply 缺几天补几天 to ``days``: drop those before ``registered_on`` and, if any were dropped,
    test on ``registered_on`` itself. Ascending, no duplicates."""
    days = sorted(set(days))
    if registered_on is None:
        return tuple(days)
    kept = [day for day in days if day >= registered_on]
    if len(kept) < len(days):
        kept = sorted({*kept, registered_on})
    return tuple(kept)


def plan_for(
    measure: ContactMeasure,
    *,
    edition: str,
    category: str,
    last_exposure: dt.datetime,
    registered_at: dt.datetime | None = None,
) -> Plan:
    """The plan ``measure`` gives (also for a zone's ``resident_measure``)."""
    exposure = aware(last_exposure, "last_exposure")
    registered = None if registered_at is None else aware(registered_at, "registered_at")
    ends_at = exposure + dt.timedelta(days=measure.days)
    first = local_date(exposure)
    days = [first + dt.timedelta(days=k) for k in measure.test_days]
    return Plan(
        edition=edition,
        category=category,
        measure=measure.measure,
        last_exposure_at=exposure,
        ends_at=ends_at,
        monitoring_ends_at=ends_at + dt.timedelta(days=measure.monitoring_days),
        test_days=late_test_days(days, None if registered is None else local_date(registered)),
        registered_at=registered,
    )


def contact_plan(
    protocol: Protocol,
    category: str,
    last_exposure: dt.datetime,
    registered_at: dt.datetime | None = None,
) -> Plan:
    """The plan of a contact of ``category`` under ``protocol``. ``ValueError`` (bilingual) for an
    unknown category or a naive time."""
    return plan_for(
        protocol.contacts.measure(category),
        edition=protocol.code,
        category=category,
        last_exposure=last_exposure,
        registered_at=registered_at,
    )
