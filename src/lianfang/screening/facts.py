"""Facts screening states for other apps (``Plugin.provides``; shapes in :mod:`lianfang.core.facts`)."""

from __future__ import annotations

from collections import defaultdict

from django.utils.translation import gettext as _

from lianfang.accounts.scoping import Actor
from lianfang.analytics import status
from lianfang.core import codes
from lianfang.core.facts import RoundStatusFact
from lianfang.screening.models import RoundStatus, Sample, TubeState
from lianfang.screening.selectors import SCREENING, rounds_visible, start_cutoff

_LEVEL = {
    status.ABNORMAL: "danger",
    status.UNTESTED: "warn",
    status.INVALID: "warn",
    status.PENDING: "info",
    status.NEGATIVE: "ok",
    "exempt": "info",
}


def _label(state: str) -> str:
    if state == status.UNTESTED:
        return _("未检")
    if state == "exempt":
        return _("豁免")
    return str(TubeState(state).label)


def round_status(*, actor: Actor, people: list) -> tuple[str, dict[int, RoundStatusFact]]:
    """The status of ``people`` (already scoped to the actor) in the latest open round the actor
    sees, by FORMATS.md's rules: the best of their screening tubes' results; else untested, or
    exempt under the round's age. One query for the round, one for the listed people's samples."""
    rnd = rounds_visible(actor=actor).filter(status=RoundStatus.OPEN).first()
    if rnd is None or not people:
        return "", {}
    states: dict[int, list[str]] = defaultdict(list)
    for person_id, state in Sample.objects.filter(
        round=rnd, person_id__in=[p.pk for p in people], tube__purpose=SCREENING
    ).values_list("person_id", "tube__state"):
        states[person_id].append(state)
    cutoff = start_cutoff(rnd)
    out = {}
    for p in people:
        expected = p.registered and p.community_id and codes.covered(p.community_id, rnd.scope)
        if p.pk not in states and not expected:
            continue  # not sampled and not expected: the round says nothing about them
        exempt = p.birth_date is not None and p.birth_date > cutoff
        state = status.person_status_of(states.get(p.pk, ()), exempt=exempt) or "exempt"
        out[p.pk] = RoundStatusFact(status=state, label=_label(state), level=_LEVEL[state])
    return rnd.code, out
