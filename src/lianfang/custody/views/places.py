"""Places with their occupancy (derived from stays), a place's rooms or beds, check-in."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from lianfang.accounts.scoping import NotPermitted, actor_of, scoped
from lianfang.accounts.services import audit_record
from lianfang.core.errors import Refused
from lianfang.custody import selectors
from lianfang.custody.models import PlaceKind
from lianfang.custody.services import place_create, stay_check_in
from lianfang.custody.views.common import or_404, run
from lianfang.imports.models import ImportJob
from lianfang.imports.services import import_job_create, upload_error
from lianfang.people.models import IdType
from lianfang.people.presenters import person_public


def _list(request, actor, *, form: dict, error: str = "", upload_error_text: str = "", status: int = 200):
    may_manage = actor.may("place.manage")
    return render(
        request,
        "lianfang/custody/places.html",
        {
            "places": selectors.places(actor=actor),
            "kinds": PlaceKind.choices,
            "form": form,
            "error": error,
            "upload_error": upload_error_text,
            "may_manage": may_manage,
            "jobs": ImportJob.objects.visible_to(actor).filter(kind="places")[:5] if may_manage else [],
        },
        status=status,
    )


@scoped
def place_list(request):
    actor = actor_of(request)
    if request.method != "POST":
        return _list(request, actor, form={"kind": PlaceKind.HOTEL, "beds": 1})
    post = request.POST
    if post.get("action") == "upload":  # a places file (lianfang import places), as a background job
        if not actor.may("place.manage"):
            raise PermissionDenied
        upload = request.FILES.get("file")
        error = upload_error(upload)
        if error:
            return _list(
                request, actor, form={"kind": PlaceKind.HOTEL, "beds": 1}, upload_error_text=error, status=400
            )
        job = import_job_create(actor=actor, uploaded_file=upload, kind="places")
        return redirect("web:import_job", pk=job.pk)
    form = {k: post.get(k, "").strip() for k in ("code", "name", "kind", "community_code", "units", "beds")}
    try:
        beds = int(form["beds"] or "1")
    except ValueError:
        beds = 0
    try:
        place = place_create(
            actor=actor,
            code=form["code"],
            name=form["name"],
            kind=form["kind"],
            community_code=form["community_code"],
            units=form["units"],
            beds=beds,
        )
    except NotPermitted as exc:
        raise PermissionDenied from exc
    except Refused as exc:
        return _list(request, actor, form=form, error=f"{exc.zh} / {exc.en}", status=400)
    messages.success(request, _("已建立场所 %(name)s。") % {"name": place.name})
    return redirect("custody:place", place.pk)


@scoped
@require_safe
def place_detail(request, place_pk: int):
    actor = actor_of(request)
    place = or_404(selectors.place_get(actor=actor, pk=place_pk))
    units = selectors.place_units(place)
    for unit in units:
        unit.shown = [(s, person_public(s.person, actor)) for s in unit.occupants]
    incoming = [(o, person_public(o.person, actor)) for o in selectors.incoming(place)]
    used = sum(1 for u in units if u.occupants)
    audit_record(
        actor=actor,
        action="view",
        object_type="place",
        object_id=place.code,
        detail={"people": sum(len(u.occupants) for u in units), "incoming": len(incoming)},
    )
    return render(
        request,
        "lianfang/custody/place.html",
        {
            "place": place,
            "units": units,
            "used": used,
            "free": len(units) - used,
            "incoming": incoming,
            "id_types": IdType.choices,
            "may_check_in": actor.may("stay.manage"),
        },
    )


@scoped
@require_POST
def place_check_in(request, place_pk: int):
    actor = actor_of(request)
    place = or_404(selectors.place_get(actor=actor, pk=place_pk))
    post = request.POST
    done = {}

    def write():
        done["stay"] = stay_check_in(
            actor=actor,
            place=place,
            id_type=post.get("id_type", ""),
            id_number=post.get("id_number", ""),
            name=post.get("name", ""),
            unit_label=post.get("unit", ""),
            household=post.get("household", ""),
        )

    if run(request, write):
        stay = done["stay"]
        messages.success(request, _("已入住 %(unit)s。") % {"unit": stay.unit.label})
    return redirect("custody:place", place.pk)
