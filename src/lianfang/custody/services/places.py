"""Places: isolation hotels with rooms, 方舱 and designated hospitals with beds."""

from __future__ import annotations

import re

from django.db import IntegrityError, transaction

from lianfang.accounts.scoping import Actor, require
from lianfang.accounts.services import audit_record
from lianfang.custody.models import Place, PlaceKind, Unit
from lianfang.custody.services.common import community_for, located, refuse

MAX_UNITS = 2000
_RANGE = re.compile(r"^([A-Za-z0-9-]*?)(\d+)\s*[-~]\s*(\d+)$")


def parse_units(spec: str) -> list[str]:
    """``"101-120, 201, A-3"`` → labels (a range keeps the width of its first number)."""
    labels: list[str] = []
    for part in re.split(r"[,，;；\s]+", spec or ""):
        if not part:
            continue
        m = _RANGE.match(part)
        if m:
            prefix, first, last = m.group(1), int(m.group(2)), int(m.group(3))
            if last < first or last - first >= MAX_UNITS:
                raise refuse("bad_units")
            width = len(m.group(2))
            labels.extend(f"{prefix}{n:0{width}d}" for n in range(first, last + 1))
        else:
            if len(part) > 32 or any(ord(c) < 32 for c in part):
                raise refuse("bad_units")
            labels.append(part)
        if len(labels) > MAX_UNITS:
            raise refuse("bad_units")
    if not labels or len(set(labels)) != len(labels):
        raise refuse("bad_units")
    return labels


@transaction.atomic
def place_create(
    *,
    actor: Actor | None,
    code: str,
    name: str,
    kind: str,
    community_code: str,
    units: str,
    beds: int = 1,
) -> Place:
    """A place and its rooms or beds, in a community the actor covers."""
    require(actor, "place.manage")
    code, name = (code or "").strip(), (name or "").strip()
    if not code or len(code) > 32 or any(ord(c) < 32 for c in code):
        raise refuse("code_taken" if code else "missing_name")
    if not name or len(name) > 100:
        raise refuse("missing_name")
    if kind not in PlaceKind.values:
        raise refuse("bad_kind")
    if not isinstance(beds, int) or not 1 <= beds <= 20:
        raise refuse("bad_beds")
    community = community_for(actor, community_code)
    labels = parse_units(units)
    if kind != PlaceKind.HOTEL:
        beds = 1  # a bed holds one person
    try:
        with transaction.atomic():
            place = Place.objects.create(code=code, name=name, kind=kind, **located(community))
    except IntegrityError:
        raise refuse("code_taken") from None
    Unit.objects.bulk_create([Unit(place=place, label=label, beds=beds) for label in labels])
    audit_record(
        actor=actor,
        action="place_create",
        object_type="place",
        object_id=place.code,
        detail={"kind": kind, "units": len(labels), "community": community.code},
    )
    return place
