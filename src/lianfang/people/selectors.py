"""Reads of the person registry, always through the actor's jurisdiction."""

from __future__ import annotations

import re

from django.db import connection
from django.db.models import CharField, F, Func, Q
from django.db.models.functions import Collate

from lianfang.people.models import Person
from lianfang.people.surnames import surnames_read_as

_ID_LIKE = re.compile(r"^[0-9]{3,17}[0-9Xx]?$")
_LATIN = re.compile(r"^[A-Za-z]+$")


def bytewise(field: str):
    """``field`` in byte order, as the registry's search indexes hold it (models.BytewiseIndex):
    ``COLLATE "C"`` on PostgreSQL, the column itself on SQLite (BINARY)."""
    return Collate(F(field), "C") if connection.vendor == "postgresql" else F(field)


def _by_scope_index(field: str):
    """``field`` as SQLite's planner cannot read it off an index (unary ``+``, a no-op on text).

    For an actor inside one town or community: their few thousand people are read off the scope's
    own index and the matches sorted. Offered the key's index, SQLite walks the whole city's key
    order filtering on the town (0.1–0.5 s for "l" or "陈" at 1 M people, whichever statistics it
    has; docs/performance.md). PostgreSQL's planner weighs the LIMIT itself.
    """
    return Func(F(field), template="+%(expressions)s", output_field=CharField())


def search_kind(q: str) -> str:
    """What the user typed: 'id' (a full ID), 'digits' (last digits or a phone), 'pinyin', 'name'."""
    if len(q) == 18 and _ID_LIKE.match(q):
        return "id"
    if _ID_LIKE.match(q):
        return "digits"
    if _LATIN.match(q):
        return "pinyin"
    return "name"


def search_arms(q: str) -> list[tuple[str, str, bool]]:
    """The searches a query stands for, in the order their results are shown: ``(key, value,
    prefix)``: the rows whose ``key`` starts with (or, without ``prefix``, equals) ``value``."""
    q = q.strip()
    if not q:
        return []
    kind = search_kind(q)
    if kind == "id":
        return [("id_number_rev", q.upper()[::-1], False)]
    if kind == "digits":
        digits = q.upper()
        arms = [("phone_rev", digits[::-1], False)] if len(digits) == 11 else []
        return [*arms, ("id_number_rev", digits[::-1], True), ("phone_rev", digits[::-1], True)]
    if kind == "pinyin":
        # A query that reads as a surname lists that surname's people first (``li``: 李, 黎 before
        # 凌 and 刘), each an indexed name-prefix range like a typed surname.
        surnames = [("name", ch, True) for ch in surnames_read_as(q)]
        return [*surnames, ("name_initials", q.lower(), True), ("name_pinyin", q.lower(), True)]
    return [("name", q, True)]


def persons_search(*, actor, q: str, limit: int = 50) -> list[Person]:
    """Find people by ID number (or its last digits), phone, name, or the name's pinyin/initials.

    Each way the query can match (:func:`search_arms`) is its own query, ordered by the key it
    matches on (bytes, then id) and cut at ``limit``: each reads its first matches straight off an
    index within the actor's county, or walks the key's index for a city, and stops at ``limit``.
    An OR of the arms ordered by name could do neither: PostgreSQL walked the whole name index
    (3.4 s for "陈" at 1 M people) or sorted every match.

    The order the user sees, deterministic: the arms in turn (for a pinyin query that is a
    surname's reading, that surname's people first; then pinyin initials before full pinyin;
    an exact 11-digit phone, then ID-number tails, then phone tails), each by its key then id,
    a person listed once. So "zw" lists 张伟 (initials zw) before 张文雄 (zwx), and a name prefix
    lists exact names first, equal names together.
    """
    found: dict[int, Person] = {}
    narrow = connection.vendor == "sqlite" and all(len(code) > 6 for code in actor.codes)
    for key, value, prefix in search_arms(q):
        # A range, not LIKE: SQLite's LIKE optimisation does not apply to Django's LIKE … ESCAPE
        # on a case-insensitive column; on PostgreSQL both are the same index range.
        test = Q(_key__gte=value, _key__lt=value + "\U0010ffff") if prefix else Q(_key=value)
        rows = (
            Person.objects.visible_to(actor)
            .annotate(_key=_by_scope_index(key) if narrow else bytewise(key))
            .filter(test)
            .exclude(pk__in=list(found))
            .select_related("community")
            .order_by("_key", "id")
        )
        found.update((p.pk, p) for p in rows[: limit - len(found)])
        if len(found) >= limit:
            break
    return list(found.values())


def person_get(*, actor, pk: int) -> Person | None:
    """The person if they exist *and* are inside the actor's jurisdiction (else None: same 404)."""
    return (
        Person.objects.visible_to(actor)
        .select_related("community", "building__compound")
        .filter(pk=pk)
        .first()
    )


def person_by_id_number(*, actor, id_type: str, id_number: str) -> Person | None:
    return (
        Person.objects.visible_to(actor)
        .select_related("community")
        .filter(id_type=id_type, id_number=id_number.strip().upper())
        .first()
    )
