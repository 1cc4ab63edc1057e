"""One pool (a tube): its results and its members, with their re-check tasks."""

from __future__ import annotations

from django.shortcuts import render
from django.utils import timezone

from lianfang.accounts.scoping import actor_of, scoped
from lianfang.accounts.services import audit_record
from lianfang.people.presenters import person_public
from lianfang.screening import selectors
from lianfang.screening.models import TubeState
from lianfang.screening.views.common import _local_input, _or_404, _round_or_404, _task_view


@scoped
def pool(request, code: str, barcode: str):
    actor = actor_of(request)
    rnd = _round_or_404(actor, code)
    tube = _or_404(selectors.pool_get(rnd=rnd, actor=actor, barcode=barcode))
    detail = selectors.pool_detail(tube=tube, actor=actor)
    now = timezone.now()
    members = []
    for sample, person, task in detail["members"]:
        members.append(
            {
                "sample": sample,
                "p": person_public(person, actor),
                "t": _task_view(task, actor, now, person) if task else None,
            }
        )
    audit_record(
        actor=actor,
        action="view",
        object_type="pool_members",
        object_id=tube.barcode,
        detail={"round": rnd.code, "count": len(members), "masked": not actor.sees_personal_data},
    )
    return render(
        request,
        "lianfang/screening/pool.html",
        {
            "rnd": rnd,
            "tube": tube,
            "results": detail["results"],
            "members": members,
            "hidden": detail["hidden"],
            "abnormal": tube.state == TubeState.ABNORMAL,
            "now_input": _local_input(now),
        },
    )
