"""The reads of the zones pages, each taking the actor."""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, Q, QuerySet, Sum

from lianfang.accounts.scoping import Actor
from lianfang.analytics.status import person_status_of
from lianfang.core import codes
from lianfang.geo.models import Building, Compound
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
    """The zone's communities as a subquery (a district holds hundreds: no IN list of them); for
    an entry below the community, the community holding it."""
    return ZoneArea.objects.filter(zone=zone).values("community_id")


def below_community(zone: Zone) -> list[str]:
    """The entries of the zone's area below the community (compound and building codes)."""
    return sorted(c for c in zone.area if codes.is_place_code(c))


def place_names(area_codes) -> dict[str, str]:
    """The names of the compounds and buildings among ``area_codes`` (小区 / 小区3号楼), in two
    queries whatever their number; none when there are none."""
    below = sorted({c for c in area_codes if codes.is_place_code(c)})
    if not below:
        return {}
    names = dict(Compound.objects.filter(code__in=below).values_list("code", "name"))
    names.update(
        (code, f"{compound}{name}")
        for code, compound, name in Building.objects.filter(code__in=below).values_list(
            "code", "compound__name", "name"
        )
    )
    return names


def _inside(zone: Zone) -> Q:
    """People inside the zone: of its whole communities (a subquery of its area rows), and of its
    compounds and buildings (by the registry's building)."""
    q = Q(community_id__in=ZoneArea.objects.filter(zone=zone, place_code__isnull=True).values("community_id"))
    below = below_community(zone)
    if below:
        q |= facts.place_q(below)
    return q


def residents(*, actor: Actor, zone: Zone, tag: str = "") -> QuerySet[Person]:
    """The registered people inside the zone the actor may see: one set-based query."""
    people = (
        Person.objects.visible_to(actor)
        .filter(_inside(zone), registered=True)
        .select_related("community")
        .order_by("community_id", "id_number")
    )
    if tag:
        people = people.filter(tags__contains=tag)
    return people


def residents_counts(*, actor: Actor, zone: Zone) -> dict[str, int]:
    """How many registered residents and how many with each special-needs tag, from the
    per-community counts the registry keeps (one aggregate, whatever the zone's size); a zone
    drawn by compound or building is counted from its people instead (the registry keeps no
    counts per building), also one aggregate."""
    fields = ["registered", *TAGS]
    if below_community(zone):
        counted = (
            Person.objects.visible_to(actor)
            .filter(_inside(zone), registered=True)
            .aggregate(registered=Count("pk"), **{t: Count("pk", filter=Q(tags__contains=t)) for t in TAGS})
        )
        return {f: counted[f] or 0 for f in fields}
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
