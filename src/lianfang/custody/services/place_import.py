"""``lianfang import places FILE`` and the upload page: isolation hotels with their rooms, 方舱 and
designated hospitals with their beds, as a city sets up dozens of them from a spreadsheet.

One row per place: ``place_code, name, kind, community_code, units[, beds]`` (``units`` as on
the page: ``101-120, 201``). Each accepted row goes through :func:`place_create` (the page's
rules and audit); a row naming a place that exists with the same name, kind, community and
rooms is a ``duplicate``; one naming an existing place any other way is ``code_taken`` (a place
is changed on its page, never by a file: its rooms hold people).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from django.db import transaction

from lianfang.accounts.scoping import Actor, require
from lianfang.accounts.services import audit_record
from lianfang.core.fields import CODE, NUMBER, Column, parsed, stored
from lianfang.core.fields import screened as screened_by
from lianfang.core.reader import column_texts
from lianfang.core.summary import ImportSummary
from lianfang.custody.models import Place, PlaceKind
from lianfang.custody.services.common import CustodyError
from lianfang.custody.services.places import parse_units, place_create

REQUIRED = ("place_code", "name", "kind", "community_code", "units")

# Every spelling of a kind a sheet may use → its code.
_KIND_NAMES = {
    **{k: k for k in PlaceKind.values},
    "酒店": PlaceKind.HOTEL,
    "隔离酒店": PlaceKind.HOTEL,
    "集中隔离点": PlaceKind.HOTEL,
    "集中隔离点（酒店）": PlaceKind.HOTEL,
    "方舱": PlaceKind.FANGCANG,
    "方舱医院": PlaceKind.FANGCANG,
    "定点医院": PlaceKind.HOSPITAL,
    "hospital": PlaceKind.HOSPITAL,
}


def place_columns() -> dict[str, Column]:
    kinds = tuple((v, str(label), v) for v, label in PlaceKind.choices)
    return {
        "place_code": stored(
            Place._meta.get_field("code"), CODE, label="编号", example="JJ-H01", required=True
        ),
        "name": stored(
            Place._meta.get_field("name"), label="名称", example="晋江某酒店隔离点", required=True
        ),
        "kind": parsed(label="类型", example="hotel", required=True, allowed=kinds),
        "community_code": parsed(CODE, label="所在社区代码", example="350582001004", required=True),
        "units": parsed(
            label="房间或床位",
            example="101-120, 201",
            required=True,
            note=(
                "房间号或床位号，可写范围，逗号分隔",
                "room or bed labels, ranges allowed, comma-separated",
            ),
        ),
        "beds": parsed(
            NUMBER,
            label="每间床数",
            example="1",
            note=("酒店每间可住人数，默认1（方舱、医院每床1人）", "people a hotel room holds, default 1"),
        ),
    }


def _same(place: Place, name: str, kind: str, community: str, units: str) -> bool:
    try:
        labels = parse_units(units)
    except CustodyError:
        return False
    mine = sorted(place.units.values_list("label", flat=True))
    return (place.name, place.kind, place.community_id, mine) == (name, kind, community, sorted(labels))


@screened_by(place_columns)
def places_import(
    *, table: pa.Table, actor: Actor | None, source: str = ""
) -> tuple[ImportSummary, np.ndarray]:
    """Places row by row, each its own transaction (a refused row leaves nothing behind).

    Reasons, in order: ``missing_field:<col>``, ``bad_kind``, ``bad_beds``, then ``duplicate`` /
    ``code_taken`` for an existing code (of another jurisdiction too: nothing of it is told),
    then the page's own refusals (``unknown_community``, ``bad_units``, ``missing_name`` …)."""
    require(actor, "place.manage")
    cols = {c: column_texts(table, c) for c in (*REQUIRED, "beds")}
    summary = ImportSummary(read=table.num_rows)
    outcomes = np.full(table.num_rows, "", dtype=object)
    for i in range(table.num_rows):
        row = {c: cols[c][i] for c in cols}
        reason = next((f"missing_field:{c}" for c in REQUIRED if not row[c]), "")
        kind = _KIND_NAMES.get(row["kind"]) or _KIND_NAMES.get(row["kind"].lower()) if not reason else None
        if not reason and kind is None:
            reason = "bad_kind"
        beds = 1
        if not reason and row["beds"]:
            try:
                beds = int(float(row["beds"]))
                if beds != float(row["beds"]):
                    raise ValueError
            except ValueError:
                reason = "bad_beds"
        if not reason:
            existing = Place.objects.dangerously_all().filter(code=row["place_code"]).first()
            if existing is not None:
                same = _same(existing, row["name"], kind, row["community_code"], row["units"])
                reason = (
                    "duplicate"
                    if same and (actor is None or actor.covers(existing.community_id))
                    else "code_taken"
                )
        if not reason:
            try:
                with transaction.atomic():
                    place_create(
                        actor=actor,
                        code=row["place_code"],
                        name=row["name"],
                        kind=kind,
                        community_code=row["community_code"],
                        units=row["units"],
                        beds=beds,
                    )
            except CustodyError as exc:
                reason = exc.code
        if reason == "duplicate":
            summary.duplicate += 1
        elif reason:
            summary.reject(reason)
        else:
            summary.accepted += 1
        outcomes[i] = reason or "accepted"
    audit_record(
        actor=actor, action="import", object_type="places", object_id=source[:64], detail=summary.as_dict()
    )
    return summary, outcomes
