"""Reads of published briefings, scoped to the areas the actor holds."""

from __future__ import annotations

import datetime as dt

from lianfang.accounts.scoping import Actor
from lianfang.command.models import Briefing
from lianfang.command.services.briefing import DAY


def briefings_visible(*, actor: Actor):
    """Published briefings: figures of the city and its counties, read by roles with
    ``briefing.read`` holding a jurisdiction; each page shows only the areas the actor covers."""
    if not actor.codes or not actor.may("briefing.read"):
        return Briefing.objects.none()
    return Briefing.objects.all()


def briefing_get(*, actor: Actor, day: dt.date) -> Briefing | None:
    from lianfang.core.times import SHANGHAI

    cutoff = dt.datetime.combine(day + DAY, dt.time(), tzinfo=SHANGHAI)
    return briefings_visible(actor=actor).filter(cutoff=cutoff).first()


def areas_for(*, actor: Actor, briefing: Briefing) -> list[dict]:
    """The briefing's areas inside the actor's jurisdictions."""
    return [a for a in briefing.areas if actor.covers(a["code"])]


def whole_city(*, actor: Actor, briefing: Briefing) -> bool:
    """The documents hold every area: only for an actor who covers all of them."""
    return all(actor.covers(a["code"]) for a in briefing.areas)
