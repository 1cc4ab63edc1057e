"""The zones section of the person page: the zones the person's place has been in."""

from __future__ import annotations

from lianfang.core import codes
from lianfang.zones.models import ZoneChange


def person_zones(*, person, actor) -> dict | None:
    """Every change of a zone whose area held the person's place: their community, or their
    building when the registry knows it (the caller scoped the person)."""
    if not person.community_id:
        return None
    changes = list(
        ZoneChange.objects.filter(zone__area_rows__community_id=person.community_id)
        .select_related("zone")
        .order_by("-designated_at")
        .distinct()[:50]
    )
    place = person.community_id
    if person.building_id and any(codes.is_place_code(a) for c in changes for a in c.area):
        building = person.building.code
        if codes.place_inside(building, person.community_id):
            place = building
    changes = [c for c in changes if codes.place_covered(place, c.area)]
    if not changes:
        return None
    return {"zone_changes": changes}
