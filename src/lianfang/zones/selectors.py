"""The reads of the zones pages, each taking the actor."""

from __future__ import annotations

import datetime as dt

from django.db.models import QuerySet, Sum

from lianfang.accounts.scoping import Actor
from lianfang.analytics.status import person_status_of
from lianfang.core import codes
from lianfang.people.models import CommunityStats, Person, Tag
from lianfang.screening.models import Round, Sample, TubePurpose
from lianfang.zones import clock, facts
from lianfang.zones.models import ProposalStatus, Zone, ZoneArea, ZoneProposal

TAGS = [t.value for t in Tag]


def zones_visible(*, actor: Actor) -> QuerySet[Zone]:
    return Zone.objects.visible_to(actor).order_by("code")


def zone_get(*, actor: Actor, code: str) -> Zone | None:
    return zones_visible(actor=actor).filter(code=code).first()


def zones_on(*, actor: Actor, at: dt.datetime) -> list[clock.ZoneState]:
    """The zones the actor sees as they stood at ``at`` (their history redrawn), lifted included."""
    visible = list(zones_visible(actor=actor))
    hist = facts.histories(visible)
    states = [clock.state_at(hist.get(z.code, []), at) for z in visible]
    return [s for s in states if s is not None]


def zone_status(*, zone: Zone, at: dt.datetime) -> clock.ZoneStatus | None:
    """The zone's status at ``at`` (now, on its page): the round condition counted in the database."""
    return facts.zone_status_now(zone, at)


def proposals_open(*, actor: Actor) -> QuerySet[ZoneProposal]:
    return (
        ZoneProposal.objects.filter(zone__in=zones_visible(actor=actor), status=ProposalStatus.OPEN)
        .select_related("zone")
        .order_by("proposed_at")
    )


def area_rows(zone: Zone):
    """The zone's communities as a subquery (a district holds hundreds: no IN list of them)."""
    return ZoneArea.objects.filter(zone=zone).values("community_id")


def residents(*, actor: Actor, zone: Zone, tag: str = "") -> QuerySet[Person]:
    """The registered people of the zone's communities the actor may see: one set-based query."""
    people = (
        Person.objects.visible_to(actor)
        .filter(registered=True, community_id__in=area_rows(zone))
        .select_related("community")
        .order_by("community_id", "id_number")
    )
    if tag:
        people = people.filter(tags__contains=tag)
    return people


def residents_counts(*, actor: Actor, zone: Zone) -> dict[str, int]:
    """How many registered residents and how many with each special-needs tag, from the
    per-community counts the registry keeps (one aggregate, whatever the zone's size)."""
    fields = ["registered", *TAGS]
    sums = (
        CommunityStats.objects.visible_to(actor)
        .filter(community_id__in=area_rows(zone))
        .aggregate(**{f: Sum(f) for f in fields})
    )
    return {f: sums[f] or 0 for f in fields}


def current_round(*, zone: Zone, at: dt.datetime) -> Round | None:
    """The latest round started at or before ``at`` whose scope covers the whole zone."""
    for rnd in Round.objects.filter(starts_at__lte=at).order_by("-starts_at")[:50]:
        if all(codes.covered(c, rnd.scope) for c in zone.area):
            return rnd
    return None


def round_status_of(*, people: list[Person], rnd: Round | None) -> dict[int, str]:
    """Each listed person's status in ``rnd`` (screening status rules over the tubes' cached
    results), in one query for the page."""
    if rnd is None or not people:
        return {}
    states: dict[int, list[str]] = {p.pk: [] for p in people}
    for person_id, state in Sample.objects.filter(
        round=rnd, person_id__in=list(states), tube__purpose=TubePurpose.SCREENING
    ).values_list("person_id", "tube__state"):
        states[person_id].append(state)
    return {pk: person_status_of(s) or "" for pk, s in states.items()}
