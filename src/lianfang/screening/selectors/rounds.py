"""Rounds as an actor sees them: the list, the headline numbers, tubes by state and age, progress per hour."""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from lianfang.accounts.scoping import Actor
from lianfang.screening.models import (
    RecheckTask,
    Result,
    Round,
    Sample,
    Site,
    Tube,
    TubeState,
)
from lianfang.screening.selectors.areas import coverage_breakdown
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


def round_overview(*, rnd: Round, actor: Actor, now: dt.datetime | None = None) -> dict:
    """The headline numbers of the round page, with the coverage rows by county (``counties``)."""
    counties, people = coverage_breakdown(rnd=rnd, actor=actor)
    tubes = tube_counts(rnd=rnd, actor=actor, now=now)
    return {
        **people,
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
