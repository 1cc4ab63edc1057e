"""Compounds (小区) and buildings (楼栋) with their codes, and ``lianfang import buildings FILE``.

Codes are handed out here, in one place, for every path that makes places (the file, the
simulator, the demo): a community's next compound is numbered after its highest, a compound's next
building after its highest, several new ones of a parent in name order
(:func:`lianfang.core.codes.compound_code` / ``building_code``).

The file: one row per building, ``community_code, compound, building`` (names; the building may be
empty to register a compound alone). A row naming a known compound and building is a
``duplicate``; nothing is renamed or removed by a file. After it, the registry people of the
communities its rows name (accepted or duplicate) are placed in the buildings their addresses name
(the registry's ``place_residents``, asked through its plugin: geo knows no people).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

import numpy as np
import pyarrow as pa
from django.db import transaction

from lianfang.accounts.scoping import Actor, require
from lianfang.accounts.services import audit_record
from lianfang.core import codes, plugins
from lianfang.core.fields import CODE, Column, parsed, screened, stored
from lianfang.core.reader import column_texts
from lianfang.core.summary import ImportSummary
from lianfang.geo.models import Building, Compound, Division, Level

REQUIRED = ("community_code", "compound")
CHUNK = 900  # parents per IN list (SQLite's old limit of bound variables is 999)


def _chunks(values: Iterable) -> Iterable[list]:
    values = sorted(set(values))
    for i in range(0, len(values), CHUNK):
        yield values[i : i + CHUNK]


def _highest(parent_codes: Iterable[str], model) -> dict[str, int]:
    """The highest number used under each parent code (0 for none): the codes' last part."""
    parents = sorted(set(parent_codes))
    out = dict.fromkeys(parents, 0)
    if not parents:
        return out
    field = "community_id" if model is Compound else "compound__code"
    for chunk in _chunks(parents):
        for parent, code in model.objects.filter(**{f"{field}__in": chunk}).values_list(field, "code"):
            out[parent] = max(out[parent], int(code.rsplit(codes.PLACE_SEPARATOR, 1)[1]))
    return out


def compounds_create(wanted: Iterable[tuple[str, str]]) -> list[Compound]:
    """Create the compounds ``(community code, name)`` not known yet, numbered after each
    community's highest in name order; returns those created. Raises CodeError past 999."""
    wanted = sorted(set(wanted))
    known = {
        row
        for chunk in _chunks(c for c, _ in wanted)
        for row in Compound.objects.filter(community_id__in=chunk).values_list("community_id", "name")
    }
    new = [(c, n) for c, n in wanted if (c, n) not in known]
    number = _highest((c for c, _ in new), Compound)
    rows = []
    for community, name in new:
        number[community] += 1
        rows.append(
            Compound(
                community_id=community, name=name, code=codes.compound_code(community, number[community])
            )
        )
    return Compound.objects.bulk_create(rows, batch_size=5000)


def buildings_create(wanted: Iterable[tuple[Compound, str]]) -> list[Building]:
    """Create the buildings ``(compound, name)`` not known yet, numbered after each compound's
    highest in name order; returns those created. Raises CodeError past 999."""
    wanted = sorted({(c.code, c.pk, n) for c, n in wanted})
    known = {
        row
        for chunk in _chunks(pk for _, pk, _ in wanted)
        for row in Building.objects.filter(compound_id__in=chunk).values_list("compound_id", "name")
    }
    new = [(code, pk, n) for code, pk, n in wanted if (pk, n) not in known]
    number = _highest((code for code, _, _ in new), Building)
    rows = []
    for code, pk, name in new:
        number[code] += 1
        rows.append(Building(compound_id=pk, name=name, code=codes.building_code(code, number[code])))
    return Building.objects.bulk_create(rows, batch_size=5000)


# --- the file -----------------------------------------------------------------------------------


def building_columns() -> dict[str, Column]:
    return {
        "community_code": parsed(CODE, label="所在社区代码", example="350582001004", required=True),
        "compound": stored(Compound._meta.get_field("name"), label="小区", example="阳光花园", required=True),
        "building": stored(
            Building._meta.get_field("name"),
            label="楼栋",
            example="3号楼",
            note=("留空则只登记小区", "empty: the compound alone"),
        ),
    }


@screened(building_columns)
@transaction.atomic
def buildings_import(
    *, table: pa.Table, actor: Actor | None, source: str = ""
) -> tuple[ImportSummary, np.ndarray]:
    """Compounds and buildings row by row, in file order (a row may add a building to a compound
    an earlier row made).

    Reasons, in order: ``missing_field:<col>`` (community_code, compound), ``unknown_community``
    (not a community, or for a user one outside their jurisdiction), ``too_many_places`` (a
    community's 1000th compound, a compound's 1000th building); then ``duplicate`` (the compound,
    or the compound and building, known already)."""
    require(actor, "buildings.import")
    cols = {c: column_texts(table, c) for c in (*REQUIRED, "building")}
    summary = ImportSummary(read=table.num_rows)
    outcomes = np.full(table.num_rows, "", dtype=object)
    communities = set(
        Division.objects.filter(level=Level.COMMUNITY, code__in=set(cols["community_code"])).values_list(
            "code", flat=True
        )
    )
    compounds = {(c.community_id, c.name): c for c in Compound.objects.filter(community_id__in=communities)}
    buildings = set(
        Building.objects.filter(compound__community_id__in=communities).values_list("compound_id", "name")
    )
    created = defaultdict(int)
    touched: set[str] = set()
    for i in range(table.num_rows):
        row = {c: cols[c][i] for c in cols}
        reason = next((f"missing_field:{c}" for c in REQUIRED if not row[c]), "")
        community = row["community_code"]
        if not reason and (
            community not in communities or (actor is not None and not actor.covers(community))
        ):
            reason = "unknown_community"
        if not reason:
            compound = compounds.get((community, row["compound"]))
            known = compound is not None and (
                not row["building"] or (compound.pk, row["building"]) in buildings
            )
            if known:
                reason = "duplicate"
        if not reason:
            new_compound = compound is None
            try:
                with transaction.atomic():
                    if new_compound:
                        (compound,) = compounds_create([(community, row["compound"])])
                    if row["building"]:
                        buildings_create([(compound, row["building"])])
            except codes.CodeError:
                reason = "too_many_places"
            else:
                if new_compound:
                    compounds[(community, compound.name)] = compound
                    created["compounds"] += 1
                if row["building"]:
                    buildings.add((compound.pk, row["building"]))
                    created["buildings"] += 1
        if reason in ("", "duplicate"):
            touched.add(community)
        if reason == "duplicate":
            summary.duplicate += 1
        elif reason:
            summary.reject(reason)
        else:
            summary.accepted += 1
        outcomes[i] = reason or "accepted"
    audit_record(
        actor=actor,
        action="import",
        object_type="buildings",
        object_id=source[:64],
        detail={**summary.as_dict(), **created},
    )
    place = plugins.provider("place_residents")
    # The registry's writers place people (persons.import); a role without it only adds places.
    if place is not None and touched and (actor is None or actor.may("persons.import")):
        placed = place(touched, actor=actor)
        summary.notes.update(residents_placed=placed.linked, residents_unmatched=placed.unmatched)
    return summary, outcomes
