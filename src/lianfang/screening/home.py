"""What screening puts on the home page's "act now" list (``Plugin.home``): the live rounds and
their deadlines, the abnormal pools nobody has signed for yet (签收), and the re-check tasks past
their clock in the user's area — each with the page where it is acted on."""

from __future__ import annotations

import datetime as dt

from django.db.models import Count

from lianfang.accounts.scoping import Actor
from lianfang.screening import selectors
from lianfang.screening.models import RecheckTask, RoundStatus
from lianfang.screening.selectors.pools import _overdue_q

# Unsigned alerts listed by barcode on the home page; the rest are counted (the round page lists all).
ALERTS_LISTED = 5


def act_now(*, actor: Actor, now: dt.datetime) -> dict | None:
    """The open rounds the actor sees, with their unsigned alerts and overdue re-check tasks.

    Queries: the open rounds, the unsigned alerts of each (a city runs one or two rounds at a
    time), the overdue counts of all of them grouped by round.
    """
    rounds = list(
        selectors.rounds_visible(actor=actor).filter(status=RoundStatus.OPEN).order_by("deadline_at", "code")
    )
    if not rounds:
        return None
    alerts_by_round = {rnd.pk: selectors.alerts_open(rnd=rnd, actor=actor) for rnd in rounds}
    overdue = dict(
        RecheckTask.objects.visible_to(actor)
        .filter(round__in=rounds)
        .filter(_overdue_q(now))
        .values_list("round_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    items = []
    for rnd in rounds:
        alerts = alerts_by_round[rnd.pk]
        remaining = (rnd.deadline_at - now).total_seconds() / 3600
        items.append(
            {
                "rnd": rnd,
                "remaining_hours": remaining,
                "late": remaining <= 0,
                "alerts": alerts[:ALERTS_LISTED],
                "alerts_count": len(alerts),
                "overdue_tasks": overdue.get(rnd.pk, 0),
            }
        )
    return {
        "rounds": items,
        "alerts_total": sum(i["alerts_count"] for i in items),
        "overdue_total": sum(i["overdue_tasks"] for i in items),
    }
