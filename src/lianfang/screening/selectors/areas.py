"""Areas and coverage: the round's area for an actor, people counts down the division tree, the untested."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db import connection
from django.db.models import BooleanField, Count, Exists, F, OuterRef, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.utils import timezone

from lianfang.accounts.scoping import Actor, division_q
from lianfang.analytics import status
from lianfang.core import codes, plugins
from lianfang.geo.models import Division
from lianfang.people.models import HOME_SAMPLING_TAGS, Person
from lianfang.screening.models import DoorVisit, Round, Sample, Tube
from lianfang.screening.selectors.common import SCREENING, _ratio, _rows, _t

# The people counts of a round: expected, then the status rules' counts, in coverage.csv's order.
COUNT_KEYS = ("expected", *status.PERSON_COUNTS)


def round_area(*, rnd: Round, actor: Actor) -> tuple[str, ...]:
    """The round's scope intersected with the actor's jurisdictions."""
    return codes.intersect(rnd.scope, actor.codes)


def start_cutoff(rnd: Round) -> dt.date:
    """People born after this day are under the exempt age on the round's start day."""
    return status.exempt_birth_cutoff(
        timezone.localtime(rnd.starts_at).date(), rnd.protocol.screening.exempt_under_years
    )


# A sample's rank (status.RANK of its tube's cached effective result; NULL: no screening tube): a
# person's status is the maximum over their tubes, as in the round report.
_RANK = f"CASE WHEN t.id IS NULL THEN NULL ELSE {status.state_rank('t.state')} END"


def _coverage_sql(rnd: Round, area: tuple[str, ...], group: str | None) -> tuple[str, list]:
    """One aggregate over the registered people of ``area``; grouped by ``group`` (a person column).

    Driven from the people of the area (their indexed division columns), each joined to their own
    samples of the round through the person index: a community costs a few index lookups, a city
    one pass. ``+s.round_id`` keeps SQLite from picking the round index for that join instead.
    """
    where, where_params = codes.where(area, "p")
    cutoff = connection.ops.adapt_datefield_value(start_cutoff(rnd))
    inner_group = f", p.{group}" if group else ""
    custody, custody_params = in_custody_sql(rnd, "p.id")
    held = "(x.cust = 1)" if custody else None
    predicates = status.person_counts("x.rnk", status.exempt("x.bd", "%s", in_custody=held))
    counts = ", ".join(f"SUM(CASE WHEN {predicates[k]} THEN 1 ELSE 0 END)" for k in status.PERSON_COUNTS)
    cutoffs = [cutoff] * sum(predicates[k].count("%s") for k in status.PERSON_COUNTS)
    cust = f", MAX(CASE WHEN {custody} THEN 1 ELSE 0 END) AS cust" if custody else ""
    sql = (
        f"SELECT {'x.g' if group else '%s'}, COUNT(*), {counts} "
        f"FROM (SELECT p.id, p.birth_date AS bd{f', p.{group} AS g' if group else ''}, MAX({_RANK}) AS rnk{cust} "
        f"FROM {_t(Person)} p LEFT JOIN {_t(Sample)} s ON s.person_id = p.id AND +s.round_id = %s "
        f"LEFT JOIN {_t(Tube)} t ON t.id = s.tube_id AND t.purpose = %s "
        f"WHERE p.registered AND {where} GROUP BY p.id, p.birth_date{inner_group}) x"
    )
    if group:
        sql += " GROUP BY x.g"
    key_params = [] if group else [rnd.pk]
    return sql, [*key_params, *cutoffs, *custody_params, rnd.pk, SCREENING, *where_params]


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
        area = codes.intersect(area, (within,))
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
        area = codes.intersect(area, (parent,))
    if not area:
        return [], _zero()
    if parent and codes.level(parent) == codes.COMMUNITY:
        sql, params = _coverage_sql(rnd, area, None)
        return [], _counts(_rows(sql, params)[0][1:])
    child = codes.level(parent) + 1 if parent else codes.COUNTY
    q = Q()
    for code in area:
        q |= Q(code=codes.at_level(code, child)) if codes.level(code) >= child else Q(code__startswith=code)
    children = list(Division.objects.filter(q, level=child).order_by("code").values_list("code", "name"))
    # A province's children (cities) are summed up from counties.
    sql, params = _coverage_sql(rnd, area, codes.column_at(child))
    by_code: dict[str, dict] = {}
    for row in _rows(sql, params):
        code = codes.at_level(row[0], child)
        by_code[code] = _sum([by_code.get(code, _zero()), _counts(row[1:])])
    rows = [
        {
            "code": code,
            "name": name,
            "partial": not codes.covered(code, area),
            **by_code.get(code, _zero()),
        }
        for code, name in children
    ]
    return rows, _sum(by_code.values())


def coverage_children(*, rnd: Round, actor: Actor, parent: str | None = None) -> list[dict]:
    """The rows of :func:`coverage_breakdown`."""
    return coverage_breakdown(rnd=rnd, actor=actor, parent=parent)[0]


def in_custody_sql(rnd: Round, person_id: str) -> tuple[str | None, list]:
    """True when the person in column ``person_id`` was in custody at the round's start, as the
    apps that hold people state it (the ``in_custody_sql`` facts, e.g. custody's stays); None
    when no installed app states it. Screening names none of them."""
    parts = [f(person_id, rnd.starts_at) for f in plugins.providers("in_custody_sql")]
    if not parts:
        return None, []
    return "(" + " OR ".join(sql for sql, _ in parts) + ")", [p for _, params in parts for p in params]


def _exempt(rnd: Round) -> RawSQL:
    """The exempt test of the round (:func:`lianfang.analytics.status.exempt`) on the person row."""
    cutoff = connection.ops.adapt_datefield_value(start_cutoff(rnd))
    custody, custody_params = in_custody_sql(rnd, f"{_t(Person)}.id")
    sql = status.exempt(f"{_t(Person)}.birth_date", "%s", in_custody=custody)
    # exempt() names the custody test twice (NULL-safe), then the birth-date cutoff.
    params = [*custody_params, *custody_params, cutoff] if custody else [cutoff] * sql.count("%s")
    assert len(params) == sql.count("%s")
    return RawSQL(sql, params, output_field=BooleanField())


def untested_people(
    *, rnd: Round, actor: Actor, code: str, home_only: bool = False, unvisited: bool = False
) -> QuerySet[Person]:
    """Registered people of the area inside ``code``, not exempt, without a screening sample in the round;
    with ``unvisited``, only those nobody has visited at their door in the round yet.

    Sorted like the report's ``untested.csv`` (community, ID number).
    """
    area = codes.intersect(round_area(rnd=rnd, actor=actor), (code,))
    if not area:
        return Person.objects.none()
    people = _untested(rnd, Person.objects.visible_to(actor), area)
    if unvisited:
        people = people.filter(~Exists(_visits(rnd)))
    if home_only:
        q = Q()
        for tag in sorted(HOME_SAMPLING_TAGS):
            q |= Q(tags__contains=tag)
        people = people.filter(q)
    return people.select_related("community").order_by("community_id", "id_number")


def _untested(rnd: Round, people: QuerySet[Person], area: tuple[str, ...]) -> QuerySet[Person]:
    """``people`` inside ``area``, registered, not exempt, without a screening sample in the round."""
    # NOT EXISTS (an anti-join), not NOT IN: PostgreSQL runs a NOT IN over a big subquery row by
    # row. On SQLite ``round_id + 0`` keeps it on the person index (the round index scans the
    # round). Not on PostgreSQL: there an expression has no statistics, so the round's samples were
    # guessed at 0.5 % of the table, and with the tubes unanalysed at 3 rows, which it materialised
    # and compared with every person: 569 s for a town's untested export in the soak (101,340
    # samples, 78,000 people), 0.24–0.27 s once the tables were analysed.
    in_round = F("round_id") + 0 if connection.vendor == "sqlite" else F("round_id")
    sampled = Sample.objects.alias(in_round=in_round).filter(
        person_id=OuterRef("pk"), in_round=rnd.pk, tube__purpose=SCREENING
    )
    return (
        people.filter(division_q(area, county="county_code", town="town_code", community="community_id"))
        .filter(registered=True)
        .exclude(_exempt(rnd))
        .filter(~Exists(sampled))
    )


def _visits(rnd: Round) -> QuerySet[DoorVisit]:
    """The door visits of the round to the person of the outer query (its person index)."""
    return DoorVisit.objects.filter(round_id=rnd.pk, person_id=OuterRef("pk"))


def latest_visits(*, rnd: Round, person_ids: Iterable[int]) -> dict[int, DoorVisit]:
    """The latest door visit of the round to each of ``person_ids`` (a page of the untested list,
    already scoped), with its visitor — one query."""
    ids = sorted(set(person_ids))
    if not ids:
        return {}
    out: dict[int, DoorVisit] = {}
    visits = (
        DoorVisit.objects.filter(round_id=rnd.pk, person_id__in=ids)
        .select_related("by")
        .order_by("person_id", "-visited_at", "-id")
    )
    for visit in visits:
        out.setdefault(visit.person_id, visit)
    return out


def untested_not_visited_by_community(*, rnd: Round) -> list[dict]:
    """Per community of the round's scope: untested people nobody has visited in the round yet —
    the count and the community's name, one GROUP BY query (server authority)."""
    if not rnd.scope:
        return []
    people = _untested(rnd, Person.objects.dangerously_all(), tuple(rnd.scope)).filter(~Exists(_visits(rnd)))
    rows = (
        people.filter(community__isnull=False)
        .values("community_id", "community__name")
        .annotate(n=Count("id"))
        .order_by("community_id")
    )
    return [{"community": r["community_id"], "name": r["community__name"], "people": r["n"]} for r in rows]


def area_division(*, rnd: Round, actor: Actor, code: str) -> Division | None:
    """The division ``code`` if part of it lies in the round's area for the actor; else None (a 404)."""
    if not codes.intersect(round_area(rnd=rnd, actor=actor), (code,)):
        return None
    return Division.objects.filter(code=code).first()


def division_names(division_codes: Iterable[str]) -> dict[str, str]:
    wanted = set(division_codes)
    if not wanted:
        return {}
    return dict(Division.objects.filter(code__in=wanted).values_list("code", "name"))
