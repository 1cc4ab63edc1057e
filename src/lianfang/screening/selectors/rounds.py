"""Rounds as an actor sees them: the list, the headline numbers, tubes by state and age, progress per hour."""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from lianfang.accounts.scoping import Actor
from lianfang.core.codes import COMMUNITY
from lianfang.core.codes import level as codes_level
from lianfang.core.codes import where as codes_where
from lianfang.people.models import Person
from lianfang.screening.models import (
    RecheckTask,
    Result,
    Round,
    Sample,
    Site,
    Tube,
    TubeState,
)
from lianfang.screening.selectors.areas import coverage_breakdown, round_area
from lianfang.screening.selectors.common import SCREENING, _hour, _hour_start, _rows, _site_q, _site_where, _t

# Pending tubes by hours since their first sample: label, lower bound (h), upper bound (h).
AGE_BUCKETS = (("<2h", 0, 2), ("2-4h", 2, 4), ("4-6h", 4, 6), (">6h", 6, None))


def round_get(*, actor: Actor, code: str) -> Round | None:
    """The round ``code`` if its scope overlaps the actor's jurisdictions; else None (a 404)."""
    return Round.objects.visible_to(actor).filter(code=code).first()


def rounds_visible(*, actor: Actor) -> QuerySet[Round]:
    return Round.objects.visible_to(actor).order_by("-starts_at", "code")


def tube_counts(*, rnd: Round, actor: Actor, now: dt.datetime | None = None) -> dict:
    """Screening tubes of the round at the actor's sites: totals by state, pending ones by age."""
    now = now or timezone.now()
    pending = Q(state=TubeState.PENDING)
    aggregates = {
        "tubes": Count("id"),
        "pending": Count("id", filter=pending),
        "negative": Count("id", filter=Q(state=TubeState.NEGATIVE)),
        "invalid": Count("id", filter=Q(state=TubeState.INVALID)),
        "abnormal": Count("id", filter=Q(state=TubeState.ABNORMAL)),
    }
    for label, low, high in AGE_BUCKETS:
        q = pending & Q(first_collected_at__lte=now - dt.timedelta(hours=low))
        if high is not None:
            q &= Q(first_collected_at__gt=now - dt.timedelta(hours=high))
        aggregates[f"age_{label}"] = Count("id", filter=q)
    if not actor.codes:  # division_q of no codes would match everything
        return {"tubes": 0, "pending": 0, "negative": 0, "invalid": 0, "abnormal": 0, "ages": []}
    out = Tube.objects.filter(round=rnd, purpose=SCREENING).filter(_site_q(actor)).aggregate(**aggregates)
    out["ages"] = [(label, out.pop(f"age_{label}")) for label, _, _ in AGE_BUCKETS]
    return out


def results_held_count() -> int:
    """Result rows whose tube is not registered yet, across all rounds (labs report, tubes follow)."""
    return Result.objects.filter(~Exists(Tube.objects.filter(barcode=OuterRef("tube_barcode")))).count()


def open_tasks_count(*, rnd: Round, actor: Actor) -> int:
    return RecheckTask.objects.visible_to(actor).filter(round=rnd).open().count()


def chart_parent(*, rnd: Round, actor: Actor) -> str | None:
    """The division whose children the round page breaks coverage down into: when the actor's part
    of the round is one division above a community (a county, town or city user), that division,
    so its towns or communities get a bar each; else None (the counties)."""
    area = round_area(rnd=rnd, actor=actor)
    if len(area) == 1 and codes_level(area[0]) < COMMUNITY:
        return area[0]
    return None


def round_overview(*, rnd: Round, actor: Actor, now: dt.datetime | None = None) -> dict:
    """The headline numbers of the round page, with the coverage rows (``counties``: the counties,
    or the children of :func:`chart_parent`) — the totals come from the same query."""
    counties, people = coverage_breakdown(rnd=rnd, actor=actor, parent=chart_parent(rnd=rnd, actor=actor))
    tubes = tube_counts(rnd=rnd, actor=actor, now=now)
    # The identity the page prints: expected − exempt = (sampled − exempt people sampled) + untested.
    sampled_counted = people["expected"] - people["exempt"] - people["untested"]
    return {
        **people,
        "sampled_exempt": people["sampled"] - sampled_counted,
        "sampled_counted": sampled_counted,
        "at_sites": sampled_at_sites(rnd=rnd, actor=actor),
        "counties": counties,
        "tubes": tubes,
        "pending_tubes": tubes["pending"],
        "open_tasks": open_tasks_count(rnd=rnd, actor=actor),
        "results_held": results_held_count(),
    }


def round_progress(*, rnd: Round, actor: Actor) -> dict:
    """Per-hour series at the actor's sites: people sampled, people and tubes with a result."""
    where, params = _site_where(actor)
    base = (
        f"FROM {_t(Sample)} s JOIN {_t(Tube)} t ON t.id = s.tube_id JOIN {_t(Site)} st ON st.id = t.site_id "
        f"WHERE s.round_id = %s AND t.purpose = %s AND {where}"
    )
    sampled = _rows(
        f"SELECT {_hour('s.collected_at')} AS h, COUNT(*) {base} GROUP BY {_hour('s.collected_at')}",
        [rnd.pk, SCREENING, *params],
    )
    resulted = _rows(
        f"SELECT {_hour('t.resulted_at')} AS h, COUNT(*), COUNT(DISTINCT t.id) {base} "
        f"AND t.resulted_at IS NOT NULL GROUP BY {_hour('t.resulted_at')}",
        [rnd.pk, SCREENING, *params],
    )

    def cumulate(rows: list[tuple], index: int) -> list[tuple[dt.datetime, int]]:
        total, out = 0, []
        for row in sorted(rows, key=lambda r: r[0]):
            total += int(row[index])
            out.append((_hour_start(row[0]), total))
        return out

    return {
        "sampled": cumulate(sampled, 1),
        "resulted": cumulate(resulted, 1),
        "tubes_per_hour": [(_hour_start(r[0]), int(r[2])) for r in sorted(resulted, key=lambda r: r[0])],
    }


def sampled_at_sites(*, rnd: Round, actor: Actor) -> dict:
    """Distinct people the actor's sampling sites sampled in the round (screening tubes), split
    three ways that add up: ``in_area`` (registered people of the round's area for the actor, the
    ones counted in 应检), ``unregistered`` (people not in the registry, created when sampled) and
    ``out_of_scope`` (registered people living outside that area). One aggregate over the round's
    samples at the actor's sites.
    """
    zero = {"total": 0, "in_area": 0, "unregistered": 0, "out_of_scope": 0}
    if not actor.codes:
        return zero
    sites, site_params = _site_where(actor)
    area, area_params = codes_where(round_area(rnd=rnd, actor=actor), "p")
    sql = (
        f"SELECT COUNT(DISTINCT p.id), "
        f"COUNT(DISTINCT CASE WHEN p.registered AND {area} THEN p.id END), "
        f"COUNT(DISTINCT CASE WHEN NOT p.registered THEN p.id END) "
        f"FROM {_t(Sample)} s JOIN {_t(Tube)} t ON t.id = s.tube_id JOIN {_t(Site)} st ON st.id = t.site_id "
        f"JOIN {_t(Person)} p ON p.id = s.person_id "
        f"WHERE s.round_id = %s AND t.purpose = %s AND {sites}"
    )
    total, in_area, unregistered = (
        int(v or 0) for v in _rows(sql, [*area_params, rnd.pk, SCREENING, *site_params])[0]
    )
    return {
        "total": total,
        "in_area": in_area,
        "unregistered": unregistered,
        "out_of_scope": total - in_area - unregistered,
    }
