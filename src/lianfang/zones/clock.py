"""A zone's state, clock and proposal at an instant (FORMATS.md "Zones"), from facts alone.

No Django and no database here: the caller reads the zone's history, the cases and plans as
they stood at ``at`` (``core.plugins.provider("cases_as_of")`` / ``("plans_as_of")``), the
screening rounds, samples and results, and the registry's residents of the areas, and hands them
over as the plain records below.

"Inside the area" is by place: a person's place is their building's code when the registry knows
it (``Resident.place_code``, ``Facts.places`` for cases and contacts, looked up by ID), else their
community's code; they are inside an area entry (a community, compound or building code) when the
place lies inside it (:func:`lianfang.core.codes.place_inside`). A case known only by its
community is inside a zone of its community, not inside a zone of one of its buildings. For an
area of whole communities this is exactly "the community is in the area". :func:`zones_status` then decides, scenario by scenario, what
``lianfang zones status --at T`` prints and what the zone page shows (each condition and
whether it holds). Every duration comes from the zone's regime (``lianfang.protocol.zones``),
chosen by its type at ``at``.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from lianfang.analytics.status import NEGATIVE, tube_state_of
from lianfang.core import codes
from lianfang.core.times import format_time
from lianfang.protocol.zones import LIFTED, ZONE_REGIMES, ZoneRegime, regime_for_type

UPGRADE = "upgrade"


@dataclass(frozen=True, slots=True)
class Change:
    """One accepted row of a zone's history (a designation, a change, a lift)."""

    zone_code: str
    type: str
    name: str
    area: tuple[str, ...]  # community, compound or building codes, sorted, unique
    designated_at: dt.datetime


@dataclass(frozen=True, slots=True)
class ZoneState:
    """A zone as it stood at an instant: its last change at or before it."""

    zone_code: str
    type: str
    name: str
    area: tuple[str, ...]
    designated_at: dt.datetime  # its first designation
    changed_at: dt.datetime  # its last change (of anything)
    type_since: dt.datetime  # its last change of type (the first designation included)


@dataclass(frozen=True, slots=True)
class Resident:
    """A registered person of the registry (as it stands: it has no event time)."""

    key: int
    id_type: str
    id_number: str
    community_code: str
    birth_date: dt.date | None
    place_code: str = ""  # the building's code when the registry knows it

    @property
    def place(self) -> str:
        return self.place_code or self.community_code


@dataclass(frozen=True, slots=True)
class RoundFact:
    """A screening round: its start, scope and whom it exempts (age cutoff and custody at start)."""

    code: str
    starts_at: dt.datetime
    scope: tuple[str, ...]
    exempt_born_after: dt.date  # born after this day: under the exempt age on the start day
    in_custody: frozenset[tuple[str, str]] = frozenset()  # (id_type, id_number) in custody at start


@dataclass(frozen=True, slots=True)
class SampleFact:
    round_code: str
    person_key: int
    tube_barcode: str
    collected_at: dt.datetime


@dataclass(frozen=True, slots=True)
class ResultFact:
    tube_barcode: str
    result: str
    reported_at: dt.datetime


@dataclass(frozen=True, slots=True)
class Condition:
    """One lift condition: whether it holds at ``at`` and what it rests on (for the page)."""

    code: str  # "clear_days" | "contacts" | "round" | "county"
    holds: bool
    detail: dict = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ZoneStatus:
    state: ZoneState
    regime: str
    clock_from: dt.datetime
    reset_by: str | None  # the case whose report set the clock, None when the type change did
    eligible_at: dt.datetime
    proposal: str | None
    proposed_type: str | None  # where the proposal would move the zone
    conditions: tuple[Condition, ...]

    def as_json(self) -> dict:
        """The object ``lianfang zones status --json`` prints for the zone."""
        return {
            "zone_code": self.state.zone_code,
            "type": self.state.type,
            "regime": self.regime,
            "clock_from": format_time(self.clock_from),
            "proposal": self.proposal,
            "eligible_at": format_time(self.eligible_at),
        }


def state_at(history: Sequence[Change], at: dt.datetime) -> ZoneState | None:
    """The zone at ``at`` from its history (any order); None when it was not designated yet."""
    past = sorted((c for c in history if c.designated_at <= at), key=lambda c: c.designated_at)
    if not past:
        return None
    type_since = past[0].designated_at
    for before, after in zip(past, past[1:], strict=False):
        if after.type != before.type:
            type_since = after.designated_at
    last = past[-1]
    return ZoneState(
        zone_code=last.zone_code,
        type=last.type,
        name=last.name,
        area=last.area,
        designated_at=past[0].designated_at,
        changed_at=last.designated_at,
        type_since=type_since,
    )


def custody_keys(cases: Iterable, plans: Iterable, at: dt.datetime) -> frozenset[tuple[str, str]]:
    """People in custody at ``at`` (FORMATS.md, Screening): a case reported before ``at``, or a
    person whose ``close`` plan has begun (registered at or before ``at``) and not ended at ``at``.
    ``cases`` and ``plans`` are the facts as they stood at ``at``."""
    keys = {(c.id_type, c.id_number) for c in cases if c.reported_at < at}
    for p in plans:
        begun = (p.upgraded_at or p.registered_at) <= at
        if p.category == "close" and begun and not p.plan.ended(at):
            keys.add((p.id_type, p.id_number))
    return frozenset(keys)


@dataclass
class Facts:
    """Everything the rules read at one instant, as it stood then (see the module's docstring)."""

    at: dt.datetime
    cases: Sequence = ()  # CaseFact, reported at or before ``at``
    plans: Sequence = ()  # PlanFact, as the plans report states them at ``at``
    rounds: Sequence[RoundFact] = ()
    residents: Sequence[Resident] = ()
    samples: Sequence[SampleFact] = ()
    results: Sequence[ResultFact] = ()
    regimes: Mapping[str, ZoneRegime] = field(default_factory=lambda: ZONE_REGIMES)
    # For one zone at "now", counted in the database instead of from rows (the zone page at city
    # scale): round code → (non-exempt residents not sampled, samples not negative or too old).
    round_counts: Mapping[str, tuple[int, int]] | None = None
    # The registry's building code of people (id_type, id_number) known to live in one, for the
    # cases and contacts of zones drawn below the community (see the module's docstring).
    places: Mapping[tuple[str, str], str] = field(default_factory=dict)


def _regime(facts: Facts, zone_type: str) -> ZoneRegime:
    for regime in facts.regimes.values():
        if zone_type in regime.types:
            return regime
    return regime_for_type(zone_type)


def zones_status(histories: Mapping[str, Sequence[Change]], facts: Facts) -> list[ZoneStatus]:
    """Every zone designated at or before ``facts.at`` whose type then is not ``lifted``, sorted
    by code, with its clock, the conditions of its proposal and the proposal."""
    at = facts.at
    states = {}
    for code, history in histories.items():
        state = state_at(history, at)
        if state is not None and state.type != LIFTED:
            states[code] = state
    ctx = _Context(facts)
    # Counties with a zone in force that lifts on its own clock (sealed/controlled), per regime: a
    # precaution zone lifts when its counties have none of its own regime's.
    clocked_counties: dict[str, set[str]] = defaultdict(set)
    for state in states.values():
        regime = _regime(facts, state.type)
        if regime.type(state.type).clock:
            clocked_counties[regime.code].update(codes.county(c) for c in state.area)
    return [_status(states[code], ctx, clocked_counties) for code in sorted(states)]


class _Context:
    """The facts indexed once for every zone."""

    def __init__(self, facts: Facts):
        self.facts = facts
        at = facts.at
        self.cases = [c for c in facts.cases if c.reported_at <= at]
        self.close_plans = [p for p in facts.plans if p.category == "close"]
        self.case_keys = {(c.id_type, c.id_number) for c in facts.cases}
        self.places = facts.places
        self.residents_by_community: dict[str, list[Resident]] = defaultdict(list)
        for r in facts.residents:
            self.residents_by_community[r.community_code].append(r)
        results: dict[str, list[str]] = defaultdict(list)
        for r in facts.results:
            if r.reported_at <= at:
                results[r.tube_barcode].append(r.result)
        self.tube_state = {barcode: tube_state_of(values) for barcode, values in results.items()}
        self.samples: dict[str, dict[int, list[SampleFact]]] = defaultdict(lambda: defaultdict(list))
        for s in facts.samples:
            if s.collected_at <= at:
                self.samples[s.round_code][s.person_key].append(s)
        self.rounds = sorted(
            (r for r in facts.rounds if r.starts_at <= at), key=lambda r: (r.starts_at, r.code), reverse=True
        )

    def place_of(self, fact) -> str:
        """A case's or a plan's place: the registry's building of the person when it lies in the
        community the fact states, else that community."""
        community = fact.community_code
        place = self.places.get((fact.id_type, fact.id_number))
        if place and community and codes.place_inside(place, community):
            return place
        return community

    def inside(self, fact, area: Iterable[str]) -> bool:
        return codes.place_covered(self.place_of(fact), area)


def _status(state: ZoneState, ctx: _Context, clocked_counties: Mapping[str, set[str]]) -> ZoneStatus:
    facts, at = ctx.facts, ctx.facts.at
    regime = _regime(facts, state.type)
    zone_type = regime.type(state.type)
    area = set(state.area)
    inside = [
        c
        for c in ctx.cases
        if ctx.inside(c, area) and (regime.custody_infection_resets or c.found_in != "quarantine")
    ]
    last = max(inside, key=lambda c: (c.reported_at, c.case_code), default=None)
    if last is not None and last.reported_at > state.type_since:
        clock_from, reset_by = last.reported_at, last.case_code
    else:
        clock_from, reset_by = state.type_since, None
    eligible_at = clock_from + dt.timedelta(days=regime.clear_days)
    proposal = proposed_type = None
    conditions: tuple[Condition, ...] = ()
    if zone_type.upgrade_to and any(c.reported_at > state.type_since for c in inside):
        proposal, proposed_type = UPGRADE, zone_type.upgrade_to
    elif zone_type.clock:
        conditions = (
            Condition("clear_days", at >= eligible_at, {"eligible_at": eligible_at, "reset_by": reset_by}),
            _contacts_condition(area, ctx, at),
            _round_condition(area, ctx, regime, at),
        )
        if all(c.holds for c in conditions):
            proposal, proposed_type = regime.lift_action, zone_type.next_type
    elif zone_type.lifts_with_county:
        counties = sorted({codes.county(c) for c in area})
        blocking = sorted(set(counties) & clocked_counties.get(regime.code, set()))
        conditions = (Condition("county", not blocking, {"counties": counties, "blocking": blocking}),)
        if not blocking:
            proposal, proposed_type = "lift", zone_type.next_type
    return ZoneStatus(
        state=state,
        regime=regime.code,
        clock_from=clock_from,
        reset_by=reset_by,
        eligible_at=eligible_at,
        proposal=proposal,
        proposed_type=proposed_type,
        conditions=conditions,
    )


def _contacts_condition(area: set[str], ctx: _Context, at: dt.datetime) -> Condition:
    """(2) Every close contact of the area (not a case) has a plan ended at ``at``."""
    open_plans = [
        p
        for p in ctx.close_plans
        if ctx.inside(p, area) and (p.id_type, p.id_number) not in ctx.case_keys and not p.plan.ended(at)
    ]
    last_end = max((p.plan.monitoring_ends_at for p in open_plans), default=None)
    return Condition("contacts", not open_plans, {"open": len(open_plans), "last_ends_at": last_end})


def _round_condition(area: set[str], ctx: _Context, regime: ZoneRegime, at: dt.datetime) -> Condition:
    """(3) A round started at or before ``at`` covering the area, every non-exempt resident of the
    area sampled, and every sample of theirs in it (exempt ones' too) collected at or before
    ``at`` in a tube negative at ``at``, collected within the regime's window before ``at``."""
    window_from = at - dt.timedelta(days=regime.round_window_days)
    communities = sorted({codes.place_community(c) for c in area})
    residents = [
        r
        for c in communities
        for r in ctx.residents_by_community.get(c, ())
        if codes.place_covered(r.place, area)
    ]
    best: dict = {}
    for rnd in ctx.rounds:
        if not all(codes.covered(c, rnd.scope) for c in area):
            continue
        counted = (ctx.facts.round_counts or {}).get(rnd.code)
        if ctx.facts.round_counts is not None:
            if counted is None:
                continue
            untested, bad = counted
            detail = {
                "round": rnd.code,
                "untested": untested,
                "not_negative_or_old": bad,
                "window_from": window_from,
            }
            if not untested and not bad:
                return Condition("round", True, detail)
            best = best or detail
            continue
        sampled = ctx.samples.get(rnd.code, {})
        untested = bad = 0
        for r in residents:
            taken = sampled.get(r.key, ())
            exempt = (r.birth_date is not None and r.birth_date > rnd.exempt_born_after) or (
                (r.id_type, r.id_number) in rnd.in_custody
            )
            if not taken and not exempt:
                untested += 1
            for s in taken:
                if ctx.tube_state.get(s.tube_barcode, "pending") != NEGATIVE or s.collected_at < window_from:
                    bad += 1
        detail = {
            "round": rnd.code,
            "untested": untested,
            "not_negative_or_old": bad,
            "window_from": window_from,
        }
        if not untested and not bad:
            return Condition("round", True, detail)
        best = best or detail
    return Condition("round", False, best)
