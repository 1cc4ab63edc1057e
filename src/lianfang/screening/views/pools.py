"""One pool (a tube): its results and its members, with their re-check tasks."""

from __future__ import annotations

from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from lianfang.accounts.masking import mask_id_number
from lianfang.accounts.scoping import actor_of, scoped
from lianfang.accounts.services import audit_record
from lianfang.people.presenters import person_public
from lianfang.screening import selectors
from lianfang.screening.models import TubeState
from lianfang.screening.views.common import _local_input, _or_404, _round_or_404, _task_view


def _as_sent(person, actor) -> dict:
    """A member who lives outside the actor's jurisdiction: only what the sampling device sent
    (the ID, masked as the actor's role sees IDs), none of the registry's record of them."""
    return {
        "id": None,
        "outside": True,
        "id_type": person.id_type,
        "id_number": person.id_number if actor.sees_personal_data else mask_id_number(person.id_number),
        "name": "",
        "phone": "",
        "address": "",
        "community_name": "",
        "registered": True,
        "masked": not actor.sees_personal_data,
    }


@scoped
@require_GET
def sampled_elsewhere(request):
    """The actor's residents sampled at sites outside their jurisdiction, in the open rounds."""
    actor = actor_of(request)
    found = selectors.sampled_elsewhere(actor=actor)
    rows = [{"sample": s, "p": person_public(s.person, actor)} for s in found]
    names = selectors.division_names({s.tube.site.county_code for s in found})
    for row in rows:
        row["site_county"] = names.get(
            row["sample"].tube.site.county_code, row["sample"].tube.site.county_code
        )
    audit_record(
        actor=actor,
        action="view",
        object_type="sampled_elsewhere",
        object_id="",
        detail={"count": len(rows), "masked": not actor.sees_personal_data},
    )
    return render(request, "lianfang/screening/elsewhere.html", {"rows": rows})


@scoped
def pool(request, code: str, barcode: str):
    actor = actor_of(request)
    rnd = _round_or_404(actor, code)
    tube = _or_404(selectors.pool_get(rnd=rnd, actor=actor, barcode=barcode))
    detail = selectors.pool_detail(tube=tube, actor=actor)
    now = timezone.now()
    members = []
    for sample, person, task, outside in detail["members"]:
        members.append(
            {
                "sample": sample,
                "p": _as_sent(person, actor) if outside else person_public(person, actor),
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
