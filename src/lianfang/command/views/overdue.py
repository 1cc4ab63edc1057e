"""The overdue board's page: every hand-off past its clock in the user's area, newest breach first."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from lianfang.accounts.scoping import actor_of, scoped
from lianfang.accounts.services import audit_record
from lianfang.command.selectors.overdue import group_queue, kind_label, overdue_board
from lianfang.core import codes
from lianfang.geo.models import Division

PAGE = 100


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        return 0


def late_by(delta) -> str:
    """How long past its clock, to the minute: "2 天 3 小时", "3 小时 5 分", "12 分"."""
    minutes = max(int(delta.total_seconds() // 60), 0)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return _("%(d)d 天 %(h)d 小时") % {"d": days, "h": hours}
    if hours:
        return _("%(h)d 小时 %(m)d 分") % {"h": hours, "m": minutes}
    return _("%(m)d 分") % {"m": minutes}


@scoped
@require_GET
def overdue(request):
    actor = actor_of(request)
    if not actor.may("overdue.read"):
        raise Http404
    area = request.GET.get("area", "").strip()
    if area and not (codes.is_code(area) and actor.covers(area)):
        raise Http404
    kind = request.GET.get("kind", "").strip()
    now = timezone.now()
    group, kinds = None, None
    if request.GET.get("group"):
        # A working group's queue: the kinds it owns in its post's division.
        queue = group_queue(actor=actor, group_id=_int(request.GET["group"]))
        if queue is None:
            raise Http404
        group, area, kinds = queue
    board = overdue_board(actor=actor, at=now, area=area, kind=kind, kinds=kinds)
    page = Paginator(board.items, PAGE).get_page(request.GET.get("page"))
    shown_codes = {board.area, *(c for c, _ in board.by_division), *(i.division_code for i in page)}
    names = dict(Division.objects.filter(code__in=[c for c in shown_codes if c]).values_list("code", "name"))
    # The labels name people (a transfer's, a re-check's): the view of them is audited.
    audit_record(
        actor=actor,
        action="view",
        object_type="overdue_board",
        object_id=board.area or "all",
        detail={
            "kind": kind or "all",
            "group": group.pk if group else None,
            "items": len(board.items),
            "page": page.number,
        },
    )
    return render(
        request,
        "lianfang/command/overdue.html",
        {
            "board": board,
            "page": page,
            "kind": kind,
            "group": group,
            "base": f"group={group.pk}" if group else f"area={board.area}",
            "now": now,
            "area_name": names.get(board.area, ""),
            "rows": [
                (item, kind_label(item.kind), names.get(item.division_code, ""), late_by(now - item.due_at))
                for item in page
            ],
            "divisions": [(c, names.get(c, ""), n) for c, n in board.by_division],
            "up": codes.parent(board.area)
            if board.area and actor.covers(codes.parent(board.area) or "")
            else None,
        },
    )
