"""What the command layer puts on the home page's "act now" list (``Plugin.home``): the user's
open problems and the directives to their posts not yet acknowledged, overdue first."""

from __future__ import annotations

import datetime as dt

from lianfang.accounts.scoping import Actor
from lianfang.command.selectors.problems import act_now


def problems_and_directives(*, actor: Actor, now: dt.datetime) -> dict | None:
    items = act_now(actor)
    return {"items": items} if items else None


def group_queues(*, actor: Actor, now: dt.datetime) -> dict | None:
    """The user's working groups with overdue items in their queue (the overdue board's kinds the
    group owns, in its post's division)."""
    from lianfang.command.selectors.overdue import my_queues

    if not actor.may("overdue.read"):
        return None
    queues = [(group, n) for group, n in my_queues(actor=actor, at=now) if n]
    return {"queues": queues} if queues else None
