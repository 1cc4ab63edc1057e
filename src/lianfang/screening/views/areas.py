"""A round's coverage of one division, down to the untested people of a community (with their
latest door visit, and recording one), and the untested list of a town or community as a file."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from lianfang.accounts.scoping import Actor, actor_of, scoped
from lianfang.accounts.services import audit_record
from lianfang.analytics.screening import UNTESTED_COLUMNS
from lianfang.core.downloads import download_response, table_file
from lianfang.geo.models import Division, Level
from lianfang.people.models import Person
from lianfang.people.presenters import people_rows, person_public
from lianfang.screening import selectors
from lianfang.screening.models import Round, VisitOutcome
from lianfang.screening.services import NotFound, NotPermitted, ScreeningError, door_visit_record
from lianfang.screening.views.common import _chart_text, _coverage_chart, _or_404, _populated, _round_or_404
from lianfang.screening.views.tasks import _safe_next

UNTESTED_PAGE = 50


def _untested_rows(rnd: Round, actor: Actor, people: list[Person]) -> list[dict]:
    """The untested list's rows: each person as the actor may see them, with their latest visit
    in the round (one query for the page) and whether the actor may record another."""
    latest = selectors.latest_visits(rnd=rnd, person_ids=[p.pk for p in people])
    may_visit = rnd.is_open and actor.may("visit.record")
    return [
        {
            **person_public(p, actor),
            "visit": latest.get(p.pk),
            "may_visit": may_visit and actor.covers(p.community_id or ""),
        }
        for p in people
    ]


def _breadcrumb(actor: Actor, division: Division) -> list[Division]:
    codes = [c for c in division.ancestor_codes if len(c) >= 6]
    return list(Division.objects.visible_to(actor).filter(code__in=codes).order_by("code"))


@scoped
def round_area(request, code: str, division_code: str):
    actor = actor_of(request)
    rnd = _round_or_404(actor, code)
    division = _or_404(selectors.area_division(rnd=rnd, actor=actor, code=division_code))
    children, totals = selectors.coverage_breakdown(rnd=rnd, actor=actor, parent=division.code)
    children, empty = _populated(children)
    untested_page = None
    home_only = request.GET.get("home") == "1"
    unvisited = request.GET.get("unvisited") == "1"
    if division.level == Level.COMMUNITY:
        people = selectors.untested_people(
            rnd=rnd, actor=actor, code=division.code, home_only=home_only, unvisited=unvisited
        )
        untested_page = Paginator(people, UNTESTED_PAGE).get_page(request.GET.get("page"))
        untested_page.rows = _untested_rows(rnd, actor, list(untested_page.object_list))
        audit_record(
            actor=actor,
            action="view",
            object_type="round_untested",
            object_id=division.code,
            detail={
                "round": rnd.code,
                "page": untested_page.number,
                "count": len(untested_page.rows),
                "masked": not actor.sees_personal_data,
                **({"filter": "unvisited"} if unvisited else {}),
            },
        )
    return render(
        request,
        "lianfang/screening/area.html",
        {
            "rnd": rnd,
            "division": division,
            "breadcrumb": _breadcrumb(actor, division),
            "children": children,
            "empty": empty,
            "totals": totals,
            "untested_page": untested_page,
            "home_only": home_only,
            "unvisited": unvisited,
            "outcomes": VisitOutcome.choices,
            "exportable": division.level >= Level.TOWN,
            "chart": {"coverage": _coverage_chart(rnd, children), "text": _chart_text()}
            if children
            else None,
        },
    )


@scoped
def untested_export(request, code: str, division_code: str, fmt: str):
    """The untested list of a town or community, masked per role, as CSV (with BOM) or XLSX; audited."""
    actor = actor_of(request)
    rnd = _round_or_404(actor, code)
    division = selectors.area_division(rnd=rnd, actor=actor, code=division_code)
    if division is None or division.level < Level.TOWN or fmt not in ("csv", "xlsx"):
        raise Http404
    people = selectors.untested_people(rnd=rnd, actor=actor, code=division.code)
    body, count = table_file(
        header=UNTESTED_COLUMNS,
        rows=people_rows(people.iterator(chunk_size=5000), actor),
        fmt=fmt,
        sheet=division.name or division.code,
    )
    audit_record(
        actor=actor,
        action="export",
        object_type="round_untested",
        object_id=division.code,
        detail={"round": rnd.code, "format": fmt, "rows": count, "masked": not actor.sees_personal_data},
    )
    filename = f"untested-{rnd.code}-{division.code}-{timezone.localdate():%Y%m%d}.{fmt}"
    return download_response(body, fmt=fmt, filename=filename)


@scoped
@require_POST
def door_visit(request, code: str, pk: int):
    """Record a door visit (入户走访) to one person of the round's untested list: the outcome and
    a short note, now, by the request's user. Within htmx the person's row comes back."""
    actor = actor_of(request)
    rnd = _round_or_404(actor, code)
    person = _or_404(Person.objects.visible_to(actor).select_related("community").filter(pk=pk).first())
    error = None
    try:
        door_visit_record(
            actor=actor,
            rnd=rnd,
            person_id=person.pk,
            outcome=request.POST.get("outcome", ""),
            note=request.POST.get("note", ""),
        )
    except NotPermitted as exc:
        raise PermissionDenied from exc
    except NotFound as exc:
        raise Http404 from exc
    except ScreeningError as exc:
        error = exc
    fallback = reverse("screening:round_area", args=[rnd.code, person.community_id or rnd.scope[0]])
    if request.headers.get("HX-Request"):
        rnd.refresh_from_db()
        return render(
            request,
            "lianfang/screening/_untested_row.html",
            {
                "rnd": rnd,
                "p": _untested_rows(rnd, actor, [person])[0],
                "outcomes": VisitOutcome.choices,
                "error": error,
                "ok": error is None,
                "next": _safe_next(request, fallback),
            },
        )
    if error is not None:
        messages.error(request, f"{error.zh} / {error.en}")
    else:
        messages.success(request, _("已登记 %(name)s 的入户走访。") % {"name": person.name})
    return redirect(_safe_next(request, fallback))
