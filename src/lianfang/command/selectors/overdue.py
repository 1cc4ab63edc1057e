"""The overdue board: every hand-off past its clock that the actor may see, from every installed app.

Each app states its own member of the ``"overdue"`` family (core/facts.py): screening's re-checks,
tracing's traces, custody's transfers and test days, livelihood's requests … The board reads them
all with the actor's authority (each app scopes its own rows), newest breach first, and counts them
by kind and by the divisions one level below the area shown.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from lianfang.accounts.scoping import Actor
from lianfang.core import codes
from lianfang.core.facts import Overdue
from lianfang.core.plugins import providers

# What each kind is called on the board (an app's new kind shows under its own code until named).
KIND_LABELS = {
    "recheck": _("单采复核"),
    "resample": _("重新采样"),
    "trace_core": _("流调核心信息"),
    "trace_report": _("流调初步报告"),
    "transfer": _("转运"),
    "test_day": _("隔离检测"),
    "monitor_test_day": _("出院后监测检测"),
    "request": _("民生诉求"),
}


@dataclass(frozen=True)
class Board:
    area: str  # the division shown ("" when the actor's jurisdictions share no division)
    items: list[Overdue]  # newest breach first (the latest due time first)
    by_kind: list[tuple[str, str, int]]  # (kind, label, count), most first
    by_division: list[
        tuple[str, int]
    ]  # (code one level below the area, or the item's own shorter code, count)
    total: int  # before the kind filter


def kind_label(kind: str) -> str:
    return str(KIND_LABELS.get(kind, kind))


def overdue_board(
    *, actor: Actor, at: dt.datetime, area: str = "", kind: str = "", kinds: frozenset[str] | None = None
) -> Board:
    """The board of ``area`` (a division the actor covers; "" for the actor's whole jurisdiction)
    at ``at``, of the ``kinds`` given (None: all; a working group's queue). An ``area`` outside the
    actor's jurisdictions shows nothing (the view answers 404 before asking)."""
    area = area or codes.common(actor.codes)
    items = [
        item
        for stated in providers("overdue")
        for item in stated(actor, at)
        if (not area or codes.inside(item.division_code or "", area))
        and (kinds is None or item.kind in kinds)
    ]
    items.sort(key=lambda o: (o.due_at, o.ref), reverse=True)
    kinds = Counter(item.kind for item in items)
    width = codes.child_length(area) if area else codes.LENGTH[codes.COUNTY]
    divisions = Counter((item.division_code or "")[:width] for item in items)
    shown = [item for item in items if item.kind == kind] if kind else items
    return Board(
        area=area,
        items=shown,
        by_kind=[(k, kind_label(k), n) for k, n in kinds.most_common()],
        by_division=sorted(divisions.items(), key=lambda kv: (-kv[1], kv[0])),
        total=len(items),
    )


def group_queue(*, actor: Actor, group_id: int):
    """A working group's queue: ``(group, area, kinds)`` — its post's division and the overdue kinds
    it owns (``GROUP_QUEUES``; None: all) — or None when the group is not found, dissolved, or its
    post's division is not wholly the actor's."""
    from lianfang.command.models import GROUP_QUEUES, WorkingGroup

    group = WorkingGroup.objects.select_related("post").filter(pk=group_id, dissolved_at=None).first()
    if group is None or not actor.covers(group.post.division_code):
        return None
    return group, group.post.division_code, GROUP_QUEUES.get(group.kind, frozenset())


def my_queues(*, actor: Actor, at: dt.datetime) -> list[tuple[object, int]]:
    """The working groups the actor's user is a current member of, each with its count of overdue
    items (for the home page: a group's queue before the statistics)."""
    from lianfang.command.models import Membership

    if actor.user is None:
        return []
    out = []
    members = Membership.objects.filter(user=actor.user, left_at=None, group__dissolved_at=None)
    for group_id in members.values_list("group_id", flat=True).distinct():
        queue = group_queue(actor=actor, group_id=group_id)
        if queue is not None:
            group, area, kinds = queue
            out.append((group, len(overdue_board(actor=actor, at=at, area=area, kinds=kinds).items)))
    return out
