"""The zones section of the person page: the zones the person's community has been in."""

from __future__ import annotations

from lianfang.zones.models import ZoneChange


def person_zones(*, person, actor) -> dict | None:
    """Every change of a zone whose area held the person's community (the caller scoped the person)."""
    if not person.community_id:
        return None
    changes = [
        c
        for c in ZoneChange.objects.filter(zone__area_rows__community_id=person.community_id)
        .select_related("zone")
        .order_by("-designated_at")[:50]
        if person.community_id in c.area
    ]
    if not changes:
        return None
    return {"zone_changes": changes}
