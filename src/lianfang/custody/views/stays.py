"""Stays: the list (the actor's places and residents), one stay's tests, test days, release or
discharge; the home health monitoring after a discharge (the list of the actor's residents in it)."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from lianfang.accounts.scoping import actor_of, scoped
from lianfang.accounts.services import audit_record
from lianfang.custody import selectors
from lianfang.custody.models import StayEnd, TestResult
from lianfang.custody.services import stay_end, stay_test_record
from lianfang.custody.services.common import MESSAGES
from lianfang.custody.services.stays import home_covers
from lianfang.custody.views.common import form_time, local_input, or_404, run
from lianfang.people.presenters import person_public


@scoped
@require_safe
def stay_list(request):
    actor = actor_of(request)
    which = "all" if request.GET.get("which") == "all" else "open"
    rows = [(s, person_public(s.person, actor)) for s in selectors.stays(actor=actor, which=which)[:500]]
    audit_record(
        actor=actor,
        action="view",
        object_type="stays",
        object_id=which,
        detail={"count": len(rows), "masked": not actor.sees_personal_data},
    )
    return render(request, "lianfang/custody/stays.html", {"rows": rows, "which": which})


@scoped
@require_safe
def stay_detail(request, stay_pk: int):
    actor = actor_of(request)
    stay = or_404(selectors.stay_get(actor=actor, pk=stay_pk))
    view = selectors.stay_view(stay, actor)
    audit_record(
        actor=actor,
        action="view",
        object_type="stay",
        object_id=stay.pk,
        detail={"person": stay.person_id, "masked": not actor.sees_personal_data},
    )
    return render(
        request,
        "lianfang/custody/stay.html",
        {
            "stay": stay,
            "p": person_public(stay.person, actor),
            **view,
            "blocker_texts": [f"{MESSAGES[b][0]} / {MESSAGES[b][1]}" for b in view["blockers"]],
            "results": TestResult.choices,
            "now_input": local_input(timezone.now()),
            "may_manage": view["held"] and actor.may("stay.manage") and stay.ended_at is None,
            # The monitoring's tests: its home jurisdiction (``monitoring`` is None for anyone else).
            "may_monitor": view["monitoring"] is not None
            and view["monitoring"].running
            and actor.may("monitoring.record"),
        },
    )


def _held_stay(actor, stay_pk: int):
    """A stay the actor's jurisdiction holds (its place); a resident's stay elsewhere is not theirs to change."""
    stay = or_404(selectors.stay_get(actor=actor, pk=stay_pk))
    if not actor.covers(stay.unit.place.community_id):
        or_404(None)
    return stay


def _testable_stay(actor, stay_pk: int):
    """A stay the actor may add a test to: an open one its place's jurisdiction holds, or a
    discharged one (its home health monitoring) of the actor's residents. Else 404."""
    stay = or_404(selectors.stay_get(actor=actor, pk=stay_pk))
    if stay.end_kind == StayEnd.DISCHARGED:
        if not home_covers(actor, stay):
            or_404(None)
        return stay
    return _held_stay(actor, stay_pk)


@scoped
@require_POST
def stay_test(request, stay_pk: int):
    actor = actor_of(request)
    stay = _testable_stay(actor, stay_pk)
    post = request.POST

    def write():
        stay_test_record(
            actor=actor,
            stay=stay,
            sampled_at=form_time(post.get("sampled_at", "")),
            result=post.get("result", ""),
            ct_n=post.get("ct_n", ""),
            ct_orf1ab=post.get("ct_orf1ab", ""),
        )

    if run(request, write):
        messages.success(request, _("已登记检测结果。"))
    return redirect("custody:stay", stay.pk)


@scoped
@require_POST
def stay_finish(request, stay_pk: int):
    actor = actor_of(request)
    stay = _held_stay(actor, stay_pk)

    def write():
        stay_end(actor=actor, stay=stay, return_home=request.POST.get("return_home", ""))

    if run(request, write):
        messages.success(request, _("已办理离开。"))
    return redirect("custody:stay", stay.pk)


@scoped
@require_safe
def monitoring_list(request):
    """出院后居家健康监测: the actor's residents (by home community) in monitoring after a discharge."""
    actor = actor_of(request)
    rows = selectors.monitoring_list(actor=actor)
    audit_record(
        actor=actor,
        action="view",
        object_type="monitoring",
        object_id="",
        detail={"count": len(rows), "masked": not actor.sees_personal_data},
    )
    return render(request, "lianfang/custody/monitoring.html", {"rows": rows, "actor": actor})
