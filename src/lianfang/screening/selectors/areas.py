"""Areas and coverage: the round's area for an actor, people counts down the division tree, the untested."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db import connection
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.utils import timezone

from lianfang.accounts.scoping import Actor, division_q
from lianfang.analytics.screening import exempt_birth_cutoff
from lianfang.geo.models import LEVEL_OF_LENGTH, Division
from lianfang.people.models import HOME_SAMPLING_TAGS, Person
from lianfang.screening.models import (
    Round,
    Sample,
    Tube,
    TubeState,
)
from lianfang.screening.selectors.common import SCREENING, _codes_where, _ratio, _rows, _t

# The level below a code of each length (city → counties → towns → communities).
CHILD_LENGTH = {2: 4, 4: 6, 6: 9, 9: 12}
COUNT_KEYS = ("expected", "exempt", "sampled", "negative", "pending", "invalid", "abnormal", "untested")


def _outermost(codes: Iterable[str]) -> tuple[str, ...]:
    kept: list[str] = []
    for code in sorted(set(codes), key=len):
        if not any(code.startswith(k) for k in kept):
            kept.append(code)
    return tuple(sorted(kept))


def intersect_codes(a: Iterable[str], b: Iterable[str]) -> tuple[str, ...]:
    """The division codes covered by both sets of prefixes (as the outermost codes)."""
    out = set()
    b = tuple(b)
    for x in a:
        for y in b:
            if x.startswith(y):
                out.add(x)
            elif y.startswith(x):
                out.add(y)
    return _outermost(out)


def round_area(*, rnd: Round, actor: Actor) -> tuple[str, ...]:
    """The round's scope intersected with the actor's jurisdictions."""
    return intersect_codes(rnd.scope, actor.codes)


def start_cutoff(rnd: Round) -> dt.date:
    """People born after this day are under 2 on the round's start day (exempt)."""
    return exempt_birth_cutoff(
        timezone.localtime(rnd.starts_at).date(), rnd.protocol.screening.exempt_under_years
    )


# A sample's rank (3 abnormal, 2 negative, 1 invalid, 0 pending; NULL: no screening tube): a
# person's status is the maximum over their tubes, as in the round report.
_RANK = (
    f"CASE WHEN t.id IS NULL THEN NULL WHEN t.state = '{TubeState.ABNORMAL}' THEN 3 "
    f"WHEN t.state = '{TubeState.NEGATIVE}' THEN 2 WHEN t.state = '{TubeState.INVALID}' THEN 1 ELSE 0 END"
)


def _coverage_sql(rnd: Round, area: tuple[str, ...], group: str | None) -> tuple[str, list]:
    """One aggregate over the registered people of ``area``; grouped by ``group`` (a person column).

    Driven from the people of the area (their indexed division columns), each joined to their own
    samples of the round through the person index: a community costs a few index lookups, a city
    one pass. ``+s.round_id`` keeps SQLite from picking the round index for that join instead.
    """
    where, where_params = _codes_where(area, "p")
    cutoff = connection.ops.adapt_datefield_value(start_cutoff(rnd))
    inner_group = f", p.{group}" if group else ""
    sql = (
        f"SELECT {'x.g' if group else '%s'}, COUNT(*), "
        "SUM(CASE WHEN x.bd > %s THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN x.rnk IS NOT NULL THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN x.rnk = 2 THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN x.rnk = 0 THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN x.rnk = 1 THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN x.rnk = 3 THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN x.rnk IS NULL AND (x.bd IS NULL OR x.bd <= %s) THEN 1 ELSE 0 END) "
        f"FROM (SELECT p.id, p.birth_date AS bd{f', p.{group} AS g' if group else ''}, MAX({_RANK}) AS rnk "
        f"FROM {_t(Person)} p LEFT JOIN {_t(Sample)} s ON s.person_id = p.id AND +s.round_id = %s "
        f"LEFT JOIN {_t(Tube)} t ON t.id = s.tube_id AND t.purpose = %s "
        f"WHERE p.registered AND {where} GROUP BY p.id, p.birth_date{inner_group}) x"
    )
    if group:
        sql += " GROUP BY x.g"
    key_params = [] if group else [rnd.pk]
    return sql, [*key_params, cutoff, cutoff, rnd.pk, SCREENING, *where_params]


def _counts(row: Iterable) -> dict:
    counts = {k: int(v or 0) for k, v in zip(COUNT_KEYS, row, strict=True)}
    counts["coverage"] = _ratio(counts["sampled"], counts["expected"])
    counts["coverage_pct"] = round(counts["coverage"] * 100, 1)
    return counts


def _zero() -> dict:
    return _counts([0] * len(COUNT_KEYS))


def _sum(rows: Iterable[dict]) -> dict:
    total = dict.fromkeys(COUNT_KEYS, 0)
    for row in rows:
        for k in COUNT_KEYS:
            total[k] += row[k]
    return _counts([total[k] for k in COUNT_KEYS])


def coverage_totals(*, rnd: Round, actor: Actor, within: str | None = None) -> dict:
    """People counts of the round over the actor's area (or the part of it inside ``within``)."""
    area = round_area(rnd=rnd, actor=actor)
    if within:
        area = intersect_codes(area, (within,))
    if not area:
        return _zero()
    sql, params = _coverage_sql(rnd, area, None)
    row = _rows(sql, params)[0]
    return _counts(row[1:])


def rounds_progress(*, rounds: list[Round], actor: Actor) -> dict[int, dict]:
    """People counts of several rounds over each one's area for the actor, in one query."""
    parts, params = [], []
    for rnd in rounds:
        area = round_area(rnd=rnd, actor=actor)
        if area:
            sql, p = _coverage_sql(rnd, area, None)
            parts.append(sql)
            params.extend(p)
    out = {rnd.pk: _zero() for rnd in rounds}
    if parts:
        for row in _rows(" UNION ALL ".join(parts), params):
            out[int(row[0])] = _counts(row[1:])
    return out


def coverage_breakdown(*, rnd: Round, actor: Actor, parent: str | None = None) -> tuple[list[dict], dict]:
    """Coverage of the divisions one level below ``parent`` (counties when None) within the area,
    and the totals over that part of the area — one GROUP BY query.

    One row per child division overlapping the area (those with nobody registered included):
    ``code``, ``name``, ``partial`` (only part of it is in the area) and the counts. Below a
    community there are no rows; the totals are then the community's.
    """
    area = round_area(rnd=rnd, actor=actor)
    if parent:
        area = intersect_codes(area, (parent,))
    if not area:
        return [], _zero()
    length = CHILD_LENGTH.get(len(parent), 0) if parent else 6
    if not length:
        sql, params = _coverage_sql(rnd, area, None)
        return [], _counts(_rows(sql, params)[0][1:])
    q = Q()
    for code in area:
        q |= Q(code=code[:length]) if len(code) >= length else Q(code__startswith=code)
    children = list(
        Division.objects.filter(q, level=LEVEL_OF_LENGTH[length]).order_by("code").values_list("code", "name")
    )
    # A city's children (4 digits) are summed up from counties.
    group = {9: "town_code", 12: "community_id"}.get(length, "county_code")
    sql, params = _coverage_sql(rnd, area, group)
    by_code: dict[str, dict] = {}
    for row in _rows(sql, params):
        code = (row[0] or "")[:length]
        by_code[code] = _sum([by_code.get(code, _zero()), _counts(row[1:])])
    rows = [
        {
            "code": code,
            "name": name,
            "partial": not any(code.startswith(a) for a in area),
            **by_code.get(code, _zero()),
        }
        for code, name in children
    ]
    return rows, _sum(by_code.values())


def coverage_children(*, rnd: Round, actor: Actor, parent: str | None = None) -> list[dict]:
    """The rows of :func:`coverage_breakdown`."""
    return coverage_breakdown(rnd=rnd, actor=actor, parent=parent)[0]


def untested_people(*, rnd: Round, actor: Actor, code: str, home_only: bool = False) -> QuerySet[Person]:
    """Registered people of the area inside ``code``, not exempt, without a screening sample in the round.

    Sorted like the report's ``untested.csv`` (community, ID number).
    """
    area = intersect_codes(round_area(rnd=rnd, actor=actor), (code,))
    if not area:
        return Person.objects.none()
    # NOT EXISTS (an anti-join), not NOT IN: PostgreSQL runs a NOT IN over a big subquery row by
    # row. ``round_id + 0`` keeps SQLite on the person index for it (the round index scans the round).
    sampled = Sample.objects.alias(in_round=F("round_id") + 0).filter(
        person_id=OuterRef("pk"), in_round=rnd.pk, tube__purpose=SCREENING
    )
    people = (
        Person.objects.visible_to(actor)
        .filter(division_q(area, county="county_code", town="town_code", community="community_id"))
        .filter(registered=True)
        .exclude(birth_date__gt=start_cutoff(rnd))
        .filter(~Exists(sampled))
    )
    if home_only:
        q = Q()
        for tag in sorted(HOME_SAMPLING_TAGS):
            q |= Q(tags__contains=tag)
        people = people.filter(q)
    return people.select_related("community").order_by("community_id", "id_number")


def area_division(*, rnd: Round, actor: Actor, code: str) -> Division | None:
    """The division ``code`` if part of it lies in the round's area for the actor; else None (a 404)."""
    if not intersect_codes(round_area(rnd=rnd, actor=actor), (code,)):
        return None
    return Division.objects.filter(code=code).first()


def division_names(codes: Iterable[str]) -> dict[str, str]:
    codes = set(codes)
    if not codes:
        return {}
    return dict(Division.objects.filter(code__in=codes).values_list("code", "name"))
