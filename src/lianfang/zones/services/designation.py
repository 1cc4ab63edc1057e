"""Designating zones and recording their changes: ``zones.csv`` (FORMATS.md "Zones"), the
designation form and a signed proposal all end in :func:`zone_change_record`, so the history is
one list of rows, never overwritten."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import numpy as np
import pyarrow as pa
from django.db import connection, transaction

from lianfang.accounts.scoping import Actor, require
from lianfang.accounts.services import audit_record
from lianfang.core import codes
from lianfang.core.db import analyze_after_bulk
from lianfang.core.fields import CODE, TIME, Column, parsed, screened, stored
from lianfang.core.reader import column_texts
from lianfang.core.summary import ImportSummary
from lianfang.core.times import parse_time
from lianfang.edition.services import in_force
from lianfang.geo.models import Building, Compound, Division, Level
from lianfang.protocol.zones import LIFTED, ZONE_REGIMES
from lianfang.zones.models import Source, Zone, ZoneArea, ZoneChange
from lianfang.zones.services.errors import ZoneError

COLUMNS = ("zone_code", "name", "type", "area", "designated_at")


def _type_names() -> dict[str, str]:
    """Every spelling of a zone type a file may use → its code: the English code (any case), the
    Chinese label (封控区) and the label without 区 (封控); ``lifted`` / 解除."""
    names = {LIFTED: LIFTED, "解除": LIFTED, "已解除": LIFTED}
    for regime in ZONE_REGIMES.values():
        for code, zone_type in regime.types.items():
            names[code] = code
            names[zone_type.label_zh] = code
            names[zone_type.label_zh.removesuffix("区")] = code
    return names


def zone_type_of(text: str) -> str | None:
    """A zone type as a file or form writes it → its code, or None."""
    value = text.strip()
    names = _type_names()
    return names.get(value) or names.get(value.lower())


def area_of(text: str) -> tuple[list[str], bool]:
    """The ``;``-joined area → (codes, well-formed): segments trimmed, an empty one ill-formed."""
    parts = [p.strip() for p in text.split(";")]
    return parts, all(parts)


def known_area_codes(area: Iterable[str]) -> set[str]:
    """The codes of ``area`` a zone may name: communities (not a town or a county), and the
    compounds and buildings of the registry (geo's codes below the community)."""
    area = set(area)
    divisions = [c for c in area if codes.is_code(c)]
    places = [c for c in area if codes.is_place_code(c)]
    known = set(
        Division.objects.filter(level=Level.COMMUNITY, code__in=divisions).values_list("code", flat=True)
    )
    if places:
        known.update(Compound.objects.filter(code__in=places).values_list("code", flat=True))
        known.update(Building.objects.filter(code__in=places).values_list("code", flat=True))
    return known


def area_row(zone: Zone, code: str) -> ZoneArea:
    """The area row of one entry: its community (scoping) and, below a community, its own code."""
    community = codes.place_community(code)
    return ZoneArea(
        zone=zone,
        community_id=community,
        town_code=codes.town(community),
        county_code=codes.county(community),
        place_code=code if codes.is_place_code(code) else None,
    )


def zone_columns() -> dict[str, Column]:
    return {
        "zone_code": stored(Zone._meta.get_field("code"), CODE),
        "name": stored(Zone._meta.get_field("name")),
        "type": parsed(),
        "area": parsed(CODE),
        "designated_at": parsed(TIME),
    }


def _key(type_: str, name: str, area: Iterable[str], at: dt.datetime) -> tuple:
    return (type_, name, tuple(sorted(set(area))), at)


@screened(zone_columns)
@transaction.atomic
def zones_import(
    *, table: pa.Table, actor: Actor | None, source: str = ""
) -> tuple[ImportSummary, np.ndarray]:
    """zones.csv, row by row in file order (a row may change a zone an earlier row designated).

    Reasons, in order: ``missing_field:<col>``, ``bad_type``, ``unknown_area`` (a segment that is
    empty or not a community, compound or building code of the registry; for a user, also one
    outside their jurisdiction), ``bad_time``,
    then ``code_taken`` (a user changing a zone not wholly theirs), then ``duplicate`` (the row
    identical to one in the zone's history), then ``stale_change`` (not later than the zone's last
    change, equal included).
    """
    require(actor, "zones.import")
    cols = {c: column_texts(table, c) for c in COLUMNS}
    summary = ImportSummary(read=table.num_rows)
    outcomes = np.full(table.num_rows, "", dtype=object)
    known = known_area_codes({p for text in cols["area"] for p in area_of(text)[0] if p})
    zones = {z.code: z for z in Zone.objects.filter(code__in=set(cols["zone_code"]))}
    history: dict[str, set[tuple]] = {code: set() for code in zones}
    for ch in ZoneChange.objects.filter(zone__code__in=list(zones)).select_related("zone"):
        history[ch.zone.code].add(_key(ch.type, ch.name, ch.area, ch.designated_at))
    edition = in_force().code
    for i in range(table.num_rows):
        row = {c: cols[c][i] for c in COLUMNS}
        reason = next((f"missing_field:{c}" for c in COLUMNS if not row[c]), "")
        zone_type = zone_type_of(row["type"]) if not reason else None
        if not reason and zone_type is None:
            reason = "bad_type"
        area, well_formed = area_of(row["area"])
        if not reason and (
            not well_formed
            or any(c not in known for c in area)
            or (actor is not None and not all(actor.covers(c) for c in area))
        ):
            reason = "unknown_area"
        at = parse_time(row["designated_at"]) if not reason else None
        if not reason and at is None:
            reason = "bad_time"
        zone = zones.get(row["zone_code"])
        if not reason and zone is not None and actor is not None:
            if not all(actor.covers(c) for c in zone.area):
                reason = "code_taken"
        if reason:
            outcomes[i] = reason
            summary.reject(reason)
            continue
        key = _key(zone_type, row["name"], area, at)
        if zone is not None and key in history[zone.code]:
            outcomes[i] = "duplicate"
            summary.duplicate += 1
            continue
        if zone is not None and at <= zone.changed_at:
            outcomes[i] = "stale_change"
            summary.reject("stale_change")
            continue
        zone = zone_change_record(
            actor=actor,
            zone=zone,
            code=row["zone_code"],
            zone_type=zone_type,
            name=row["name"],
            area=area,
            at=at,
            source=Source.FILE,
            edition=edition,
            audit=False,
        )
        zones[zone.code] = zone
        history.setdefault(zone.code, set()).add(key)
        outcomes[i] = "accepted"
        summary.accepted += 1
    audit_record(
        actor=actor, action="import", object_type="zones", object_id=source[:64], detail=summary.as_dict()
    )
    return summary, outcomes


def zone_change_record(
    *,
    actor: Actor | None,
    zone: Zone | None,
    code: str,
    zone_type: str,
    name: str,
    area: Iterable[str],
    at: dt.datetime,
    source: str,
    edition: str | None = None,
    audit: bool = True,
) -> Zone:
    """Append one change to a zone's history (creating the zone at its first designation) and
    bring the zone's current row and area rows up to date. The caller has checked authority
    and that ``at`` is later than the zone's last change."""
    area = sorted(set(area))
    user = getattr(actor, "user", None)
    created = zone is None
    if created:
        zone = Zone.objects.create(
            code=code, name=name, type=zone_type, area=area, designated_at=at, changed_at=at, type_since=at
        )
        type_changed = True
    else:
        type_changed = zone_type != zone.type
        old_area = list(zone.area)
        zone.name, zone.area, zone.changed_at = name, area, at
        if type_changed:
            zone.type, zone.type_since = zone_type, at
        zone.save(update_fields=["name", "area", "changed_at", "type", "type_since"])
        if old_area != area:
            ZoneArea.objects.filter(zone=zone).delete()
    if created or not ZoneArea.objects.filter(zone=zone).exists():
        ZoneArea.objects.bulk_create([area_row(zone, c) for c in area])
        if connection.vendor == "postgresql":
            # A zone over hundreds of communities in a table the planner thinks empty: until
            # autovacuum looks, PostgreSQL plans its people-inside page as one community and sorts
            # the whole zone (246 ms at 200,000 residents; 0.3 ms once analysed). SQLite's plans
            # got slower with these statistics (docs/performance.md), so it is left without.
            rows = len(area)
            transaction.on_commit(lambda: analyze_after_bulk([ZoneArea._meta.db_table], rows, threshold=500))
    change = ZoneChange.objects.create(
        zone=zone,
        type=zone_type,
        name=name,
        area=area,
        designated_at=at,
        type_changed=type_changed,
        edition=edition or in_force().code,
        source=source,
        recorded_by=user,
    )
    if audit:
        audit_record(
            actor=actor,
            action="zone_change",
            object_type="zone",
            object_id=zone.code,
            detail={
                "type": zone_type,
                "area": area,
                "at": at.isoformat(),
                "source": source,
                "change": change.pk,
            },
        )
    return zone


@transaction.atomic
def zone_designate(
    *, actor: Actor | None, code: str, name: str, zone_type: str, area: Iterable[str], at: dt.datetime
) -> Zone:
    """Designate a new zone from the form (a change of an existing one goes through a proposal).

    Refuses a taken code, an unknown type, an area that is not communities, compounds or
    buildings of the actor's jurisdiction, and a missing name, each with a bilingual message."""
    require(actor, "zone.designate")
    code, name = code.strip(), name.strip()
    if not code or len(code) > Zone._meta.get_field("code").max_length:
        raise ZoneError(
            "bad_code", "区域编号不能为空且不超过32个字符", "the zone code must be 1-32 characters"
        )
    if not name or len(name) > Zone._meta.get_field("name").max_length:
        raise ZoneError(
            "bad_name", "区域名称不能为空且不超过100个字符", "the zone name must be 1-100 characters"
        )
    if zone_type_of(zone_type) in (None, LIFTED):
        raise ZoneError("bad_type", "区域类型无效", "not a zone type")
    area = sorted({c.strip() for c in area if c.strip()})
    known = known_area_codes(area)
    if (
        not area
        or any(c not in known for c in area)
        or (actor is not None and not all(actor.covers(c) for c in area))
    ):
        raise ZoneError(
            "unknown_area",
            "范围须为您辖区内的社区（村）、小区或楼栋代码",
            "the area must be community codes (or compound or building codes) inside your jurisdiction",
        )
    if Zone.objects.filter(code=code).exists():
        raise ZoneError("code_taken", "编号已被占用，请换一个", "the code is taken: use another")
    return zone_change_record(
        actor=actor,
        zone=None,
        code=code,
        zone_type=zone_type_of(zone_type),
        name=name,
        area=area,
        at=at,
        source=Source.FORM,
    )
