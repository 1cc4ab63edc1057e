"""The custody section of the person page: their transfers, stays and the home health monitoring
after a discharge (the page scoped the person; the monitoring shows to the home jurisdiction)."""

from __future__ import annotations

from lianfang.custody import selectors
from lianfang.custody.models import StayEnd


def person_custody(*, person, actor) -> dict | None:
    transfers, stays = selectors.person_transfers(person), selectors.person_stays(person)
    if not transfers and not stays:
        return None
    latest = next((s for s in stays if s.end_kind == StayEnd.DISCHARGED), None)
    monitoring = selectors.stay_monitoring(latest, actor) if latest is not None else None
    return {"transfers": transfers, "stays": stays, "monitoring": monitoring, "monitored_stay": latest}
