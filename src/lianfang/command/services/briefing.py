"""The daily briefing (每日疫情通报), FORMATS.md "Daily briefing".

The window of cutoff T is ``[T − 24 h, T)`` by event time; T is a local midnight. The first run
for a cutoff computes and stores it (frozen); a later run returns what was stored. The same first
run recomputes every earlier window already briefed, as the data stand now, and carries what
changed since that window was last published as its ``corrections`` — then records the new
figures as that window's standing, so each change is carried once.

Other domains' figures come through ``core.plugins.provider`` (cases, plans, discharges): a fact
no installed app states is unknown — ``None`` in the JSON, "—" on the page and in the documents,
never 0 — and an unknown figure is never corrected.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import IntegrityError, transaction

from lianfang.core.errors import Refused
from lianfang.core.plugins import provider
from lianfang.core.times import SHANGHAI, format_time

KEYS = (
    "new_confirmed",
    "new_asymptomatic",
    "new_in_control",
    "new_in_society",
    "converted",
    "cumulative",
    "discharged",
    "close_under_control",
    "secondary_under_control",
    "sampled",
)
CASE_KEYS = KEYS[:6]
PLAN_KEYS = ("close_under_control", "secondary_under_control")
IN_CONTROL = frozenset({"quarantine", "controlled_area"})
IN_SOCIETY = frozenset({"screening", "clinic", "other"})
# The briefing's window (FORMATS.md: [T − 24 h, T)) and a calendar day: the contract, not a rule
# of an edition.
DAY = dt.timedelta(hours=24)


class BadCutoff(Refused):
    def __init__(self, text: str):
        super().__init__(
            "bad_cutoff",
            f"截止时间须为当地零点（如 2022-03-26 或 2022-03-26 00:00）：{text}",
            f"the cutoff must be a local midnight (e.g. 2022-03-26 or 2022-03-26 00:00): {text}",
        )


class NoCity(Refused):
    def __init__(self):
        super().__init__(
            "no_city",
            "区划树中没有地市，请先运行 lianfang init",
            "the division tree has no city: run lianfang init first",
        )


def parse_cutoff(text: str) -> dt.datetime:
    """``--cutoff``: a date (its local midnight) or a time that is a local midnight; else refused."""
    from lianfang.core.times import parse_time

    value = (text or "").strip()
    when = None
    if len(value) == 10:
        try:
            day = dt.date.fromisoformat(value)
        except ValueError:
            day = None
        if day is not None:
            when = dt.datetime.combine(day, dt.time(), tzinfo=SHANGHAI)
    else:
        when = parse_time(value)
    if when is None:
        raise BadCutoff(text)
    local = when.astimezone(SHANGHAI)
    if local.time() != dt.time():
        raise BadCutoff(text)
    return local


def window_day(cutoff: dt.datetime) -> dt.date:
    """The local date of the window ending at ``cutoff`` (3月25日 for the cutoff 2022-03-26)."""
    return (cutoff.astimezone(SHANGHAI) - DAY).date()


@dataclass(frozen=True)
class Tree:
    """The areas of a briefing: each city and its counties, by code."""

    areas: tuple[tuple[str, str], ...]  # (code, name), sorted by code
    counties: frozenset[str]
    cities: tuple[str, ...]

    def places(self, community_code: str) -> tuple[str, ...]:
        """The areas a case or contact of ``community_code`` counts in: its county and city when
        the community lies in a county of the tree; the city alone when it is unknown or outside
        (with one city in the tree; with several, a place outside all of them counts nowhere)."""
        code = community_code or ""
        if len(code) >= 6 and code[:6] in self.counties:
            return (code[:4], code[:6])
        for city in self.cities:
            if code.startswith(city):
                return (city,)
        return self.cities if len(self.cities) == 1 else ()


def _tree() -> Tree:
    from lianfang.geo.models import Division, Level

    cities = list(Division.objects.filter(level=Level.CITY).order_by("code").values_list("code", "name"))
    if not cities:
        raise NoCity()
    counties = list(
        Division.objects.filter(level=Level.COUNTY, parent_id__in=[c for c, _ in cities]).values_list(
            "code", "name"
        )
    )
    return Tree(
        areas=tuple(sorted([*cities, *counties])),
        counties=frozenset(c for c, _ in counties),
        cities=tuple(c for c, _ in cities),
    )


def _local(value: dt.datetime) -> dt.datetime:
    return value.astimezone(SHANGHAI)


def compute(cutoffs: list[dt.datetime], tree: Tree) -> dict[dt.datetime, dict[str, dict]]:
    """Each window's figures as the data stand now: ``{cutoff: {area code: {key: n or None}}}``."""
    if not cutoffs:
        return {}
    latest, earliest = max(cutoffs), min(cutoffs)
    out = {t: {code: dict.fromkeys(KEYS, None) for code, _ in tree.areas} for t in cutoffs}

    cases_of = provider("cases_as_of")
    if cases_of is not None:
        for t in cutoffs:
            for code in out[t]:
                out[t][code].update(dict.fromkeys(CASE_KEYS, 0))
        # One read at the latest cutoff: every case reported before it, its classification at
        # report and its conversion time (a conversion at or after a window's end is outside it).
        for case in cases_of(latest):
            places = tree.places(case.community_code)
            reported = case.reported_at
            for t in cutoffs:
                start = t - DAY
                for code in places:
                    row = out[t][code]
                    if reported < t:
                        row["cumulative"] += 1
                    if start <= reported < t:
                        row[
                            "new_confirmed"
                            if case.classification_at_report == "confirmed"
                            else "new_asymptomatic"
                        ] += 1
                        if case.found_in in IN_CONTROL:
                            row["new_in_control"] += 1
                        elif case.found_in in IN_SOCIETY:
                            row["new_in_society"] += 1
                    if case.confirmed_at is not None and start <= case.confirmed_at < t and reported < t:
                        row["converted"] += 1

    discharges_of = provider("discharges_as_of")
    if discharges_of is not None:
        for t in cutoffs:
            for code in out[t]:
                out[t][code]["discharged"] = 0
        for release in discharges_of(latest):
            if release.kind != "discharged":
                continue
            for t in cutoffs:
                if t - DAY <= release.at < t:
                    for code in tree.places(release.community_code):
                        out[t][code]["discharged"] += 1

    plans_of = provider("plans_as_of")
    if plans_of is not None:
        for t in cutoffs:
            for code in out[t]:
                out[t][code].update(dict.fromkeys(PLAN_KEYS, 0))
            for plan in plans_of(t):
                if plan.category not in ("close", "secondary"):
                    continue
                if plan.registered_at > t or plan.plan.monitoring_ends_at <= t:
                    continue
                for code in tree.places(plan.community_code):
                    out[t][code][f"{plan.category}_under_control"] += 1

    # Screening is installed with the platform: its samples are always known.
    from lianfang.screening.selectors.facts import samples_by_day_and_county

    for t in cutoffs:
        for code in out[t]:
            out[t][code]["sampled"] = 0
    counts = samples_by_day_and_county(start=earliest - DAY, end=latest)
    by_day = {window_day(t): t for t in cutoffs}
    for (day, county), n in counts.items():
        t = by_day.get(day)
        if t is None:
            continue
        for code in tree.places(county):
            out[t][code]["sampled"] += n
    return out


def _deltas(now: dict, then: dict) -> dict:
    """Non-zero changes of the known figures (an unknown figure is never corrected)."""
    out = {}
    for key in KEYS:
        a, b = now.get(key), then.get(key)
        if a is not None and b is not None and a != b:
            out[key] = a - b
    return out


def briefing_answer(briefing) -> dict:
    """The briefing's JSON object (FORMATS.md): cutoff and areas."""
    return {"cutoff": format_time(briefing.cutoff), "areas": briefing.areas}


def briefing_publish(*, cutoff: dt.datetime):
    """The briefing for ``cutoff``: the stored one, or computed, stored and returned (first run).

    Server authority (the CLI and the pages' publish button call it alike; callers check roles).
    Concurrent first runs: the earlier briefings are locked in order, so a correction is carried
    by one run only; a run that loses the race for the same cutoff returns the winner's.
    """
    from lianfang.command.models import Briefing
    from lianfang.edition.services import in_force

    cutoff = _local(cutoff)
    found = Briefing.objects.filter(cutoff=cutoff).first()
    if found is not None:
        return found
    tree = _tree()
    try:
        with transaction.atomic():
            earlier = list(Briefing.objects.select_for_update().filter(cutoff__lt=cutoff).order_by("cutoff"))
            found = Briefing.objects.filter(cutoff=cutoff).first()
            if found is not None:
                return found
            figures = compute([cutoff, *[b.cutoff for b in earlier]], tree)
            corrections: dict[str, dict[str, dict]] = {code: {} for code, _ in tree.areas}
            for old in earlier:
                fresh = figures[_local(old.cutoff)]
                changed = False
                for code, _ in tree.areas:
                    delta = _deltas(fresh[code], old.standing.get(code, {}))
                    if delta:
                        corrections[code][window_day(old.cutoff).isoformat()] = delta
                        changed = True
                if changed:
                    old.standing = {code: {k: v for k, v in fresh[code].items()} for code, _ in tree.areas}
                    old.save(update_fields=["standing"])
            own = figures[cutoff]
            areas = [
                {"code": code, "name": name, **own[code], "corrections": corrections[code]}
                for code, name in tree.areas
            ]
            return Briefing.objects.create(cutoff=cutoff, edition=in_force().code, areas=areas, standing=own)
    except IntegrityError:
        return Briefing.objects.get(cutoff=cutoff)
