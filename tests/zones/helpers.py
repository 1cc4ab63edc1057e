"""A zone for other tests' worlds (the route walkers): a precaution zone whose lift is proposed."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone


def zone_with_proposal(code: str, community: str):
    """A precaution zone over ``community`` designated a day ago, with its open lift proposal
    (no sealed or controlled zone in its county). Returns (zone, proposal)."""
    from lianfang.zones.services import proposals_refresh, zone_change_record

    zone = zone_change_record(
        actor=None,
        zone=None,
        code=code,
        zone_type="precaution",
        name=f"{code} 防范区",
        area=[community],
        at=timezone.now() - dt.timedelta(days=1),
        source="file",
    )
    (proposal,) = proposals_refresh(zones=[zone])
    return zone, proposal
