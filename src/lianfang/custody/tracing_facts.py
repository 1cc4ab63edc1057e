"""What custody reads from tracing, by fact name only (``core.plugins.provider``): never an import.

Without the tracing app installed every reader gets None ("unknown"), and the pages say so.
"""

from __future__ import annotations

import datetime as dt

from lianfang.core import plugins
from lianfang.core.facts import CaseFact, PlanFact


def installed() -> bool:
    return plugins.provider("plans_as_of") is not None or plugins.provider("cases_as_of") is not None


def plans(at: dt.datetime | None = None) -> list[PlanFact] | None:
    """Every plan as the plans report states it at ``at`` (None: tracing is not installed)."""
    f = plugins.provider("plans_as_of")
    return None if f is None else list(f(at))


def cases(at: dt.datetime | None = None) -> list[CaseFact] | None:
    f = plugins.provider("cases_as_of")
    return None if f is None else list(f(at))


def plans_by_key(at: dt.datetime | None = None) -> dict[tuple[str, str], PlanFact] | None:
    found = plans(at)
    return None if found is None else {(p.id_type, p.id_number): p for p in found}


def cases_by_key(at: dt.datetime | None = None) -> dict[tuple[str, str], CaseFact] | None:
    found = cases(at)
    return None if found is None else {(c.id_type, c.id_number): c for c in found}
