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


def overdue_board(*, actor: Actor, at: dt.datetime, area: str = "", kind: str = "") -> Board:
    """The board of ``area`` (a division the actor covers; "" for the actor's whole jurisdiction)
    at ``at``. An ``area`` outside the actor's jurisdictions shows nothing (the view answers 404
    before asking)."""
    area = area or codes.common(actor.codes)
    items = [
        item
        for stated in providers("overdue")
        for item in stated(actor, at)
        if not area or codes.inside(item.division_code or "", area)
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
