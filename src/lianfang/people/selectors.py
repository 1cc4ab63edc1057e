"""Reads of the person registry, always through the actor's jurisdiction."""

from __future__ import annotations

import re

from django.db import connection
from django.db.models import Q

from lianfang.people.models import Person

_ID_LIKE = re.compile(r"^[0-9]{3,17}[0-9Xx]?$")
_LATIN = re.compile(r"^[A-Za-z]+$")


def prefix_q(field: str, prefix: str) -> Q:
    """``field`` starts with ``prefix``, in a form each database answers from its index.

    PostgreSQL: LIKE 'p%' on the pattern-ops index Django creates. SQLite: the LIKE optimisation
    does not apply to Django's ``LIKE … ESCAPE`` on a case-insensitive column, so a range.
    """
    if connection.vendor == "sqlite":
        return Q(**{f"{field}__gte": prefix, f"{field}__lt": prefix + "\U0010ffff"})
    return Q(**{f"{field}__startswith": prefix})


def search_kind(q: str) -> str:
    """What the user typed: 'id' (a full ID), 'digits' (last digits or a phone), 'pinyin', 'name'."""
    if len(q) == 18 and _ID_LIKE.match(q):
        return "id"
    if _ID_LIKE.match(q):
        return "digits"
    if _LATIN.match(q):
        return "pinyin"
    return "name"


def persons_search(*, actor, q: str, limit: int = 50) -> list[Person]:
    """Find people by ID number (or its last digits), phone, name, or the name's pinyin/initials."""
    q = q.strip()
    if not q:
        return []
    kind = search_kind(q)
    if kind == "id":
        cond = Q(id_number=q.upper())
    elif kind == "digits":
        digits = q.upper()
        cond = prefix_q("id_number_rev", digits[::-1]) | prefix_q("phone_rev", digits[::-1])
        if len(digits) == 11:
            cond |= Q(phone=digits)
    elif kind == "pinyin":
        low = q.lower()
        cond = prefix_q("name_initials", low) | prefix_q("name_pinyin", low)
    else:
        cond = prefix_q("name", q)
    return list(
        Person.objects.visible_to(actor)
        .filter(cond)
        .select_related("community")
        .order_by("name", "id")[:limit]
    )


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
