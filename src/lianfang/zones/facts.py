"""Reading the facts the zone rules need (:mod:`lianfang.zones.clock`) out of the database.

Cases and plans come from whichever app states them (``core.plugins.provider``): without one,
there are none to count (the page says the fact is unknown). Rounds, samples and results are the
screening app's, read directly (zones sits above screening); the residents are the registry's
registered people of the zones' areas (communities, or compounds and buildings), fetched in one
set-based query. For areas below the community, the registry's buildings of the cases' and
contacts' people are read too (by ID), to place them (see :mod:`lianfang.zones.clock`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence

from django.db.models import Q
from django.utils import timezone

from lianfang.analytics.status import exempt_birth_cutoff
from lianfang.core import codes, plugins
from lianfang.people.models import Person
from lianfang.screening.models import Result, Round, Sample, TubePurpose
from lianfang.zones import clock
from lianfang.zones.models import Zone, ZoneChange


def fact(name: str, at: dt.datetime) -> list | None:
    """A fact as it stood at ``at``; None when no installed app states it."""
    provide = plugins.provider(name)
    return None if provide is None else list(provide(at))


def place_q(area: Iterable[str], prefix: str = "") -> Q:
    """People (``prefix`` the path to a person) whose place lies in ``area``: the residents of its
    whole communities, and the residents of its compounds and buildings by the registry's building.
    For an area of communities alone, exactly ``community_id IN area``."""
    area = set(area)
    compounds = sorted(c for c in area if codes.is_compound_code(c))
    buildings = sorted(c for c in area if codes.is_building_code(c))
    q = Q(**{f"{prefix}community_id__in": sorted(area - {*compounds, *buildings})})
    if compounds:
        q |= Q(**{f"{prefix}building__compound__code__in": compounds})
    if buildings:
        q |= Q(**{f"{prefix}building__code__in": buildings})
    return q


def area_communities(area: Iterable[str]) -> list[str]:
    """The communities holding an area's entries."""
    return sorted({codes.place_community(c) for c in area})


def registry_places(area: Iterable[str], facts: Iterable) -> dict[tuple[str, str], str]:
    """The registry's building codes of the people of ``facts`` (cases, plans) who live in a
    community that an entry of ``area`` below the community lies in (none when there is no such
    entry: a zone of whole communities places people by the community they are stated in)."""
    communities = sorted({codes.place_community(c) for c in area if codes.is_place_code(c)})
    wanted = {(f.id_type, f.id_number) for f in facts if f.community_code in communities}
    if not wanted:
        return {}
    rows = Person.objects.filter(community_id__in=communities, building__isnull=False).values_list(
        "id_type", "id_number", "building__code"
    )
    return {(t, n): b for t, n, b in rows if (t, n) in wanted}


def histories(zones: Iterable[Zone] | None = None) -> dict[str, list[clock.Change]]:
    """Every zone's history (or those of ``zones``) as the rules' records."""
    changes = ZoneChange.objects.select_related("zone").order_by("zone_id", "designated_at")
    if zones is not None:
        changes = changes.filter(zone__in=list(zones))
    out: dict[str, list[clock.Change]] = {}
    for ch in changes:
        out.setdefault(ch.zone.code, []).append(
            clock.Change(
                zone_code=ch.zone.code,
                type=ch.type,
                name=ch.name,
                area=tuple(ch.area),
                designated_at=ch.designated_at,
            )
        )
    return out


def facts_at(at: dt.datetime, hist: Mapping[str, Sequence[clock.Change]]) -> clock.Facts:
    """The facts at ``at`` for the zones of ``hist``: residents, samples and results only for the
    communities of their areas at ``at``."""
    area: set[str] = set()
    for history in hist.values():
        state = clock.state_at(history, at)
        if state is not None:
            area.update(state.area)
    cases = fact("cases_as_of", at) or []
    plans = fact("plans_as_of", at) or []
    rounds = []
    for rnd in Round.objects.filter(starts_at__lte=at).order_by("starts_at"):
        start = rnd.starts_at
        custody = clock.custody_keys(
            fact("cases_as_of", start) or [], fact("plans_as_of", start) or [], start
        )
        rounds.append(
            clock.RoundFact(
                code=rnd.code,
                starts_at=start,
                scope=tuple(rnd.scope),
                exempt_born_after=exempt_birth_cutoff(
                    timezone.localtime(start).date(), rnd.protocol.screening.exempt_under_years
                ),
                in_custody=custody,
            )
        )
    communities = area_communities(area)
    people = Person.objects.filter(registered=True, community_id__in=communities)
    fields = ["pk", "id_type", "id_number", "community_id", "birth_date"]
    below = any(codes.is_place_code(c) for c in area)
    residents = [
        clock.Resident(
            key=row[0],
            id_type=row[1],
            id_number=row[2],
            community_code=row[3],
            birth_date=row[4],
            place_code=(row[5] or "") if below else "",
        )
        for row in people.values_list(*fields, *(["building__code"] if below else []))
    ]
    samples_qs = Sample.objects.filter(
        round__starts_at__lte=at,
        collected_at__lte=at,
        tube__purpose=TubePurpose.SCREENING,
        person__registered=True,
        person__community_id__in=communities,
    ).values_list("round__code", "person_id", "tube__barcode", "collected_at")
    samples = [clock.SampleFact(r, p, b, c) for r, p, b, c in samples_qs]
    barcodes = sorted({s.tube_barcode for s in samples})
    results = []
    for i in range(0, len(barcodes), 5000):
        results.extend(
            clock.ResultFact(b, r, t)
            for b, r, t in Result.objects.filter(
                tube_barcode__in=barcodes[i : i + 5000], reported_at__lte=at
            ).values_list("tube_barcode", "result", "reported_at")
        )
    return clock.Facts(
        at=at,
        cases=cases,
        plans=plans,
        rounds=rounds,
        residents=residents,
        samples=samples,
        results=results,
        places=registry_places(area, [*cases, *plans]),
    )


def zones_status(at: dt.datetime, zones: Iterable[Zone] | None = None) -> list[clock.ZoneStatus]:
    """The status of every zone (or of ``zones``) at ``at``; precaution zones are decided against
    every zone in force, so the whole history is read for them."""
    everything = histories()
    wanted = set(everything) if zones is None else {z.code for z in zones}
    facts = facts_at(at, {code: everything[code] for code in wanted if code in everything})
    return [s for s in clock.zones_status(everything, facts) if s.state.zone_code in wanted]


def zone_status_now(zone: Zone, now: dt.datetime | None = None) -> clock.ZoneStatus | None:
    """One zone's status now, for its page: the same rules, with the round condition asked of
    the database (whether any resident is untested, whether any sample is not negative or too
    old, per candidate round, newest first) instead of loading every resident and sample; tube
    results are the tubes' cached effective results, which are those of now."""
    from django.db.models import Exists, OuterRef, Q

    now = now or timezone.now()
    everything = histories()
    state = clock.state_at(everything.get(zone.code, []), now)
    if state is None or state.type == clock.LIFTED:
        return None
    regime = clock.regime_for_type(state.type)
    area = sorted(state.area)
    cases = fact("cases_as_of", now) or []
    plans = fact("plans_as_of", now) or []
    window_from = now - dt.timedelta(days=regime.round_window_days)
    rounds, counts = [], {}
    for rnd in Round.objects.filter(starts_at__lte=now).order_by("-starts_at")[:20]:
        if not all(clock.codes.covered(c, rnd.scope) for c in area):
            continue
        start = rnd.starts_at
        custody = clock.custody_keys(
            fact("cases_as_of", start) or [], fact("plans_as_of", start) or [], start
        )
        cutoff = exempt_birth_cutoff(
            timezone.localtime(start).date(), rnd.protocol.screening.exempt_under_years
        )
        rounds.append(clock.RoundFact(rnd.code, start, tuple(rnd.scope), cutoff, custody))
        people = Person.objects.filter(place_q(area), registered=True)
        taken = Sample.objects.filter(
            person=OuterRef("pk"), round=rnd, collected_at__lte=now, tube__purpose=TubePurpose.SCREENING
        )
        # Whether any (not how many): the scan stops at the first, and a zone still waiting for
        # its round answers at once; a zone whose round is complete is scanned once.
        untested = int(
            people.filter(Q(birth_date__isnull=True) | Q(birth_date__lte=cutoff))
            .exclude(id_number__in=[n for _, n in custody] or [""])
            .exclude(Exists(taken))
            .exists()
        )
        bad = int(
            Sample.objects.filter(
                place_q(area, "person__"),
                round=rnd,
                collected_at__lte=now,
                tube__purpose=TubePurpose.SCREENING,
                person__registered=True,
            )
            .exclude(tube__state="negative", collected_at__gte=window_from)
            .exists()
        )
        counts[rnd.code] = (untested, bad)
        if not untested and not bad:
            break
    facts = clock.Facts(
        at=now,
        cases=cases,
        plans=plans,
        rounds=rounds,
        round_counts=counts,
        places=registry_places(area, [*cases, *plans]),
    )
    return next(
        iter(s for s in clock.zones_status(everything, facts) if s.state.zone_code == zone.code), None
    )
