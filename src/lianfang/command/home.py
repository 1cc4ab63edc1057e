"""What the command layer puts on the home page's "act now" list (``Plugin.home``): the user's
open problems and the directives to their posts not yet acknowledged, overdue first."""

from __future__ import annotations

import datetime as dt

from lianfang.accounts.scoping import Actor
from lianfang.command.selectors.problems import act_now


def problems_and_directives(*, actor: Actor, now: dt.datetime) -> dict | None:
    items = act_now(actor)
    return {"items": items} if items else None
