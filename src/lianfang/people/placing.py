"""Placing registry people in their buildings from their addresses (issue 13).

``persons.csv`` has a free-text ``address`` and no building; a zone drawn by compound or building
finds people by ``Person.building``. :func:`place_residents` reads the addresses of the registry
people of some communities who have no building yet, matches each against its community's known
compounds and buildings (:mod:`lianfang.geo.addresses`) and sets the building it names. Set-based:
one read of the people per batch of communities, one UPDATE per batch through a temporary table.

A person whose building is set is never changed here, whatever their address says: a building set
by hand or by the simulator wins (the UPDATE itself only touches rows whose building is NULL).
It runs after ``lianfang import buildings`` and after a persons import, for the communities they
touched, and as ``lianfang places link``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import connection, transaction

from lianfang.accounts.scoping import Actor, require
from lianfang.accounts.services import audit_record
from lianfang.core.db import bulk_insert
from lianfang.geo.addresses import AddressMatcher, short_community_name
from lianfang.geo.models import Building, Division, Level
from lianfang.people.models import Person

CHUNK = 900  # communities per IN list (SQLite's old limit of bound variables is 999)
LINKS = "place_links"


@dataclass(frozen=True)
class Placed:
    """People given a building (``linked``), and those looked at whose address named none
    (``unmatched``: no known compound, a compound but none of its buildings, or no address)."""

    linked: int = 0
    unmatched: int = 0


def _places(communities: list[str]) -> dict[str, dict[str, dict[str, int]]]:
    """community code → compound name → building name → building id, for those with buildings."""
    out: dict[str, dict[str, dict[str, int]]] = defaultdict(lambda: defaultdict(dict))
    for i in range(0, len(communities), CHUNK):
        rows = Building.objects.filter(compound__community_id__in=communities[i : i + CHUNK]).values_list(
            "compound__community_id", "compound__name", "name", "id"
        )
        for community, compound, building, pk in rows:
            out[community][compound][building] = pk
    return out


def _area_names(communities: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """The names an address may start with: the community's full and short name, its town's."""
    out = {}
    for code, name, town in Division.objects.filter(code__in=list(communities)).values_list(
        "code", "name", "parent__name"
    ):
        out[code] = tuple(n for n in (name, short_community_name(name), town) if n)
    return out


def _link(links: list[tuple[int, int]]) -> int:
    """Set ``building_id`` of each (person id, building id) whose building is still NULL."""
    if not links:
        return 0
    table = connection.ops.quote_name(Person._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {LINKS}")
        cursor.execute(
            f"CREATE TEMPORARY TABLE {LINKS} (person_id BIGINT PRIMARY KEY, building_id BIGINT NOT NULL)"
        )
    bulk_insert(LINKS, ("person_id", "building_id"), links)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET building_id = {LINKS}.building_id FROM {LINKS} "
            f"WHERE {table}.id = {LINKS}.person_id AND {table}.building_id IS NULL"
        )
        count = cursor.rowcount
        cursor.execute(f"DROP TABLE {LINKS}")
    return count


def place_residents(communities: Iterable[str] | None = None, *, actor: Actor | None = None) -> Placed:
    """Give the registry people of ``communities`` (community codes; None: every community with
    known buildings) whose building is NULL the building their address names. ``actor`` None is
    the server's authority; a user needs ``persons.import`` and only their jurisdiction's
    communities are looked at. One audit event per run that had buildings to look at."""
    require(actor, "persons.import")
    if communities is None:
        wanted = Building.objects.values_list("compound__community_id", flat=True).distinct()
    else:
        wanted = communities
    wanted = sorted({c for c in wanted if actor is None or actor.covers(c)})
    places = _places(wanted)
    if not places:
        return Placed()
    names = _area_names(places)
    linked = looked_at = 0
    codes = sorted(places)
    with transaction.atomic():
        for i in range(0, len(codes), CHUNK):
            chunk = codes[i : i + CHUNK]
            matchers = {c: AddressMatcher(names.get(c, ()), places[c]) for c in chunk}
            links = []
            people = Person.objects.filter(
                community_id__in=chunk, building__isnull=True, registered=True
            ).values_list("id", "community_id", "address")
            for pk, community, address in people.iterator(chunk_size=10_000):
                looked_at += 1
                named = matchers[community].match(address)
                if named is not None and named.building is not None:
                    links.append((pk, places[community][named.compound][named.building]))
            linked += _link(links)
        placed = Placed(linked=linked, unmatched=looked_at - linked)
        audit_record(
            actor=actor,
            action="update",
            object_type="places",
            object_id="residents",
            detail={"linked": placed.linked, "unmatched": placed.unmatched, "communities": len(codes)},
        )
    return placed


def communities_with_level(codes: Iterable[str]) -> list[str]:
    """The community-level division codes among ``codes`` (the CLI's --community)."""
    return list(
        Division.objects.filter(level=Level.COMMUNITY, code__in=list(codes)).values_list("code", flat=True)
    )
