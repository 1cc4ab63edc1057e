"""Reference data of the screening work: sites, labs, and the devices bound to them."""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
from django.db import transaction
from django.db.backends.base.operations import BaseDatabaseOperations

from lianfang.accounts.scoping import Actor
from lianfang.accounts.services import audit_record
from lianfang.core import codes
from lianfang.core.fields import CODE, NUMBER, Column, parsed, screened, stored
from lianfang.core.reader import column_texts
from lianfang.core.summary import ImportSummary
from lianfang.geo.models import Division, Level
from lianfang.screening.models import Device, Lab, Site
from lianfang.screening.services.errors import ScreeningError, require, require_city_wide


def site_columns() -> dict[str, Column]:
    """The rule of each column of sites.csv, from the fields it is stored in (lianfang.core.fields)."""
    return {
        "site_code": stored(
            Site._meta.get_field("code"), CODE, label="采样点编号", example="JJ-QY-01", required=True
        ),
        "name": stored(
            Site._meta.get_field("name"), label="采样点名称", example="青阳街道桂香社区采样点", required=True
        ),
        "community_code": stored(
            Division._meta.get_field("code"),
            CODE,
            label="社区代码",
            example="350582001004",
            required=True,
            note=("采样点所在社区（村）的 12 位代码", "the 12-digit code of the site's community (village)"),
        ),
        "desks": parsed(
            NUMBER,
            label="采样台数",
            example="4",
            note=("1 至 999 的整数，可留空", "a whole number from 1 to 999, or blank"),
        ),
    }


def lab_columns() -> dict[str, Column]:
    return {
        "lab_code": stored(
            Lab._meta.get_field("code"), CODE, label="检测机构编号", example="LAB-01", required=True
        ),
        "name": stored(
            Lab._meta.get_field("name"), label="检测机构名称", example="泉州市第一医院检验科", required=True
        ),
        "daily_capacity": parsed(
            NUMBER,
            label="日检测能力",
            example="20000",
            note=("每天可检管数，整数，可留空", "tubes a day, a whole number, or blank"),
        ),
    }


@screened(site_columns)
@transaction.atomic
def sites_import(
    *, table: pa.Table, actor: Actor | None, source: str = ""
) -> tuple[ImportSummary, np.ndarray]:
    """sites.csv: ``site_code, name, community_code`` required, ``desks`` optional (a positive integer).

    Reasons, in order: ``missing_field:<col>``, ``unknown_community``, ``bad_desks``,
    ``code_taken``. A known code with changed fields is an update; unchanged, a duplicate. A code
    held by a site outside the actor's jurisdiction is ``code_taken``: neither moved nor renamed,
    and nothing of it told.
    """
    require(actor, "sites.import")
    site_codes, names, communities, desks = (
        column_texts(table, c) for c in ("site_code", "name", "community_code", "desks")
    )
    known_communities = Division.objects.filter(level=Level.COMMUNITY)
    if actor is not None:
        known_communities = known_communities.inside(actor)
    valid = set(known_communities.filter(code__in=set(communities)).values_list("code", flat=True))
    stored = {s.code: s for s in Site.objects.filter(code__in=set(site_codes))}
    if actor is not None:
        yours = set(
            Site.objects.visible_to(actor).filter(code__in=list(stored)).values_list("code", flat=True)
        )
        foreign = set(stored) - yours
    else:
        foreign = set()
    summary = ImportSummary(read=table.num_rows)
    reasons = np.full(table.num_rows, "", dtype=object)
    for i, (code, name, community, desk_text) in enumerate(
        zip(site_codes, names, communities, desks, strict=True)
    ):
        reason = _first_missing((("site_code", code), ("name", name), ("community_code", community)))
        if not reason and community not in valid:
            reason = "unknown_community"
        desk_count = _whole(desk_text, low=1, high=999) if desk_text else 1
        if not reason and desk_count is None:
            reason = "bad_desks"
        if not reason and code in foreign:
            reason = "code_taken"
        if reason:
            reasons[i] = reason
            summary.reject(reason)
            continue
        site = stored.get(code)
        if site is None:
            site = stored[code] = Site(code=code)
        elif (site.name, site.community_id, site.desks) == (
            name,
            community,
            desk_count if desk_text else site.desks,
        ):
            summary.duplicate += 1
            continue
        site.name, site.community_id = name, community
        site.town_code, site.county_code = codes.town(community), codes.county(community)
        if desk_text or site.pk is None:
            site.desks = desk_count
        site.save()
        summary.accepted += 1
    audit_record(
        actor=actor, action="import", object_type="sites", object_id=source[:64], detail=summary.as_dict()
    )
    return summary, reasons


def _first_missing(fields) -> str:
    """``missing_field:<col>`` for the first empty required field, in the contract's order."""
    return next((f"missing_field:{column}" for column, value in fields if not value), "")


# The largest value of the column on every database (Django's own table of integer ranges, the
# same for both: SQLite would store more, PostgreSQL refuses it, and one bad row aborted a file).
_CAPACITY_MAX = BaseDatabaseOperations.integer_field_ranges[
    Lab._meta.get_field("daily_capacity").get_internal_type()
][1]


def _whole(text: str, *, low: int, high: int | None = None) -> int | None:
    """A whole number within [low, high] written in a cell ("3", "3.0"), else None."""
    try:
        value = float(text)
    except ValueError:
        return None
    if not math.isfinite(value) or value != int(value) or value < low or (high is not None and value > high):
        return None
    return int(value)


def labs_writable(actor: Actor | None) -> bool:
    """May ``actor`` write the city's labs (role and a city-wide jurisdiction)? For pages' forms."""
    try:
        require(actor, "labs.import")
        require_city_wide(actor, what_zh="", what_en="")
    except ScreeningError:
        return False
    return True


@screened(lab_columns)
@transaction.atomic
def labs_import(
    *, table: pa.Table, actor: Actor | None, source: str = ""
) -> tuple[ImportSummary, np.ndarray]:
    """labs.csv: ``lab_code, name`` required, ``daily_capacity`` optional (tubes per day).

    Reasons, in order: ``missing_field:<col>``, ``bad_capacity``. The labs serve the whole city:
    only an actor whose jurisdictions cover every city of the tree may write them.
    """
    require(actor, "labs.import")
    require_city_wide(actor, what_zh="检测机构（全市共用）", what_en="the labs (shared by the whole city)")
    lab_codes, names, capacities = (column_texts(table, c) for c in ("lab_code", "name", "daily_capacity"))
    stored = {lab.code: lab for lab in Lab.objects.filter(code__in=set(lab_codes))}
    summary = ImportSummary(read=table.num_rows)
    reasons = np.full(table.num_rows, "", dtype=object)
    for i, (code, name, cap_text) in enumerate(zip(lab_codes, names, capacities, strict=True)):
        reason = _first_missing((("lab_code", code), ("name", name)))
        capacity = _whole(cap_text, low=0, high=_CAPACITY_MAX) if cap_text else None
        if not reason and cap_text and capacity is None:
            reason = "bad_capacity"
        if reason:
            reasons[i] = reason
            summary.reject(reason)
            continue
        lab = stored.get(code)
        if lab is None:
            lab = stored[code] = Lab(code=code)
        elif (lab.name, lab.daily_capacity) == (name, capacity if cap_text else lab.daily_capacity):
            summary.duplicate += 1
            continue
        lab.name = name
        if cap_text:
            lab.daily_capacity = capacity
        lab.save()
        summary.accepted += 1
    audit_record(
        actor=actor, action="import", object_type="labs", object_id=source[:64], detail=summary.as_dict()
    )
    return summary, reasons


@transaction.atomic
def device_token_issue(
    *, user, name: str, site: Site | None = None, lab: Lab | None = None
) -> tuple[Device, str]:
    """A token for one sampling desk's device (bound to its site) or one lab's system (its lab).

    The raw key is returned once; only its hash is stored. A site device's user must have the
    site in their jurisdiction: the token writes as that user, for that site.
    """
    from lianfang.accounts.services import token_issue

    if (site is None) == (lab is None):
        raise ScreeningError(
            "bad_binding", "设备须绑定一个采样点或一个检测机构", "bind the device to one site or one lab"
        )
    if site is not None and not Actor.for_user(user).covers(site.community_id):
        raise ScreeningError(
            "out_of_jurisdiction",
            f"采样点 {site.code} 不在该用户的辖区内",
            f"site {site.code} is outside the user's jurisdiction",
        )
    token, raw = token_issue(user=user, name=name)
    device = Device.objects.create(token=token, site=site, lab=lab)
    audit_record(
        actor=None,
        action="create",
        object_type="device",
        object_id=device.pk,
        detail={"site": site.code if site else None, "lab": lab.code if lab else None},
    )
    return device, raw
