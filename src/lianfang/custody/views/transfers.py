"""The transfer board (orders with their clocks, the people who need one), an order's page and its steps."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from lianfang.accounts.models import AuditEvent
from lianfang.accounts.scoping import actor_of, scoped
from lianfang.accounts.services import audit_record
from lianfang.custody import selectors, tracing_facts
from lianfang.custody.models import Place, TransferCategory, TransferState
from lianfang.custody.services import transfer_move, transfer_request
from lianfang.custody.services.transfers import ACTIONS
from lianfang.custody.views.common import form_time, or_404, run
from lianfang.people.models import IdType
from lianfang.people.presenters import person_public

FILTERS = ("live", *TransferState.values, "all")


def _row(order, actor, now):
    left = (order.due_at - now).total_seconds()
    return {
        "o": order,
        "p": person_public(order.person, actor),
        "late": order.live and left < 0,
        "minutes_left": int(left // 60),
    }


@scoped
@require_safe
def transfer_list(request):
    actor = actor_of(request)
    which = request.GET.get("state", "live")
    if which not in FILTERS:
        which = "live"
    now = timezone.now()
    orders = list(selectors.transfers(actor=actor, which=which)[:500])
    rows = [_row(o, actor, now) for o in orders]
    needs = selectors.needs_transfer(actor=actor, now=now)
    audit_record(
        actor=actor,
        action="view",
        object_type="transfers",
        object_id=which,
        detail={"orders": len(rows), "needs": len(needs or ()), "masked": not actor.sees_personal_data},
    )
    return render(
        request,
        "lianfang/custody/transfers.html",
        {
            "rows": rows,
            "which": which,
            "filters": [
                (f, dict(TransferState.choices).get(f) or {"live": _("进行中"), "all": _("全部")}[f])
                for f in FILTERS
            ],
            "needs": needs,
            "tracing_installed": needs is not None,
            "categories": TransferCategory.choices,
            "id_types": IdType.choices,
            "places": Place.objects.dangerously_all().order_by("code").values_list("code", "name"),
            "may_request": actor.may("transfer.request"),
        },
    )


@scoped
@require_POST
def transfer_new(request):
    actor = actor_of(request)
    post = request.POST
    fields = {
        "id_type": post.get("id_type", ""),
        "id_number": post.get("id_number", ""),
        "category": post.get("category", ""),
        "destination_code": post.get("destination", ""),
    }
    if post.get("source") == "facts":
        # The clock is the fact's (registration, upgrade, report), looked up again, never posted.
        key = (fields["id_type"], fields["id_number"].strip().upper())
        need = next(
            (n for n in selectors.needs_transfer(actor=actor) or () if (n.id_type, n.id_number) == key),
            None,
        )
        if need is None:
            messages.error(request, _("该人员已不在待转运名单中。"))
            return redirect("custody:transfers")
        fields.update(
            category=need.category,
            name=need.name,
            community_code=need.community_code,
            case_code=need.case_code,
            clock_from=need.clock_from,
        )
    else:
        fields.update(
            name=post.get("name", ""),
            community_code=post.get("community_code", ""),
            case_code=post.get("case_code", ""),
        )
    created = {}

    def write():
        if post.get("source") != "facts":
            fields["clock_from"] = form_time(post.get("clock_from", ""))
        created["order"] = transfer_request(actor=actor, **fields)

    if run(request, write):
        messages.success(request, _("已创建转运单。"))
        return redirect("custody:transfer", created["order"].pk)
    return redirect("custody:transfers")


@scoped
@require_safe
def transfer_detail(request, order_pk: int):
    actor = actor_of(request)
    order = or_404(selectors.transfer_get(actor=actor, pk=order_pk))
    now = timezone.now()
    history = AuditEvent.objects.filter(
        object_type="transfer", object_id=str(order.pk), action__startswith="transfer_"
    ).order_by("at", "id")
    audit_record(
        actor=actor,
        action="view",
        object_type="transfer",
        object_id=order.pk,
        detail={"person": order.person_id, "masked": not actor.sees_personal_data},
    )
    return render(
        request,
        "lianfang/custody/transfer.html",
        {
            "row": _row(order, actor, now),
            "history": history,
            "may_dispatch": actor.may("transfer.dispatch") and order.live,
            "places": Place.objects.dangerously_all().order_by("code").values_list("code", "name"),
        },
    )


@scoped
@require_POST
def transfer_step(request, order_pk: int):
    actor = actor_of(request)
    order = or_404(selectors.transfer_get(actor=actor, pk=order_pk))
    action = request.POST.get("action", "")

    def write():
        transfer_move(
            actor=actor,
            order=order,
            action=action if action in ACTIONS else "",
            vehicle=request.POST.get("vehicle", ""),
            crew=request.POST.get("crew", ""),
            destination_code=request.POST.get("destination", ""),
            reason=request.POST.get("reason", ""),
            at=form_time(request.POST.get("at", "")),
        )

    if run(request, write):
        messages.success(request, _("转运单状态已更新。"))
    return redirect(reverse("custody:transfer", args=[order.pk]))


def tracing_installed() -> bool:
    return tracing_facts.installed()
