"""A round's coverage of one division, down to the untested people of a community, and the
untested list of a town or community as a file."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import render
from django.utils import timezone

from lianfang.accounts.scoping import Actor, actor_of, scoped
from lianfang.accounts.services import audit_record
from lianfang.analytics.screening import UNTESTED_COLUMNS
from lianfang.core.downloads import table_response
from lianfang.geo.models import Division, Level
from lianfang.people.presenters import people_rows, person_public
from lianfang.screening import selectors
from lianfang.screening.views.common import _chart_text, _coverage_chart, _or_404, _populated, _round_or_404

UNTESTED_PAGE = 50


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
    if division.level == Level.COMMUNITY:
        people = selectors.untested_people(rnd=rnd, actor=actor, code=division.code, home_only=home_only)
        untested_page = Paginator(people, UNTESTED_PAGE).get_page(request.GET.get("page"))
        untested_page.rows = [person_public(p, actor) for p in untested_page.object_list]
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
    rows = people_rows(people.iterator(chunk_size=5000), actor)
    audit_record(
        actor=actor,
        action="export",
        object_type="round_untested",
        object_id=division.code,
        detail={"round": rnd.code, "format": fmt, "rows": len(rows), "masked": not actor.sees_personal_data},
    )
    filename = f"untested-{rnd.code}-{division.code}-{timezone.localdate():%Y%m%d}.{fmt}"
    return table_response(
        header=UNTESTED_COLUMNS, rows=rows, fmt=fmt, filename=filename, sheet=division.name or division.code
    )
