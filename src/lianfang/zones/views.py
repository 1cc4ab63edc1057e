"""The zones pages: the list (and the designation form), the map of any day, a zone's page
(measures, clock and conditions, proposals to sign or reject, history), the residents' notice
and the people inside."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from lianfang.accounts.scoping import actor_of, scoped
from lianfang.accounts.services import audit_record
from lianfang.core import plugins
from lianfang.core.errors import Refused
from lianfang.core.times import SHANGHAI, parse_time
from lianfang.edition.services import in_force
from lianfang.geo.models import Division, Level
from lianfang.people.models import HEALTH_TAGS, Tag
from lianfang.people.presenters import person_public
from lianfang.protocol.zones import LIFTED, ZONE_REGIMES, regime_for_type
from lianfang.zones import selectors
from lianfang.zones.models import ProposalStatus
from lianfang.zones.services import (
    ZoneError,
    proposal_reject,
    proposal_sign,
    proposals_refresh,
    zone_designate,
)

RESIDENTS_PAGE = 50
AREA_SHOWN = 20  # communities listed on a zone's page (a district holds hundreds: the count says it)
COLOURS = {
    "sealed": "#c62828",
    "high": "#c62828",
    "controlled": "#ef6c00",
    "medium": "#ef6c00",
    "precaution": "#1565c0",
    "low": "#2e7d32",
    LIFTED: "#9e9e9e",
}
AREA_LISTED = 10  # a zone list row names this many area entries at most, else counts them


def _label(zone_type) -> str:
    """A zone type's name in the page's language (the protocol states both)."""
    return zone_type.label_zh if get_language().startswith("zh") else zone_type.label_en


def _type_label(code: str) -> str:
    if code == LIFTED:
        return _("已解除")
    try:
        return _label(regime_for_type(code).type(code))
    except ValueError:
        return code


def _type_choices() -> list[tuple[str, str]]:
    """The types of the regime in force first, then the other regime's."""
    first = in_force().zones
    regimes = [first, *(r for r in ZONE_REGIMES.values() if r is not first)]
    return [(code, _label(t)) for r in regimes for code, t in r.types.items()]


def _day(request) -> tuple[dt.datetime, str]:
    """The instant a page shows: ``?on=YYYY-MM-DD`` (the end of that day, Beijing time) or now."""
    text = request.GET.get("on", "").strip()
    if text:
        try:
            day = dt.date.fromisoformat(text)
        except ValueError:
            day = None
        if day is not None and dt.date(2000, 1, 1) <= day <= timezone.localdate():
            end = dt.datetime.combine(day, dt.time(23, 59, 59), tzinfo=SHANGHAI)
            return end, day.isoformat()
    return timezone.now(), ""


@scoped
@require_http_methods(["GET", "POST"])
def zone_list(request):
    actor = actor_of(request)
    may_designate = actor.may("zone.designate")
    error = None
    form = {"code": "", "name": "", "type": "", "area": "", "designated_at": ""}
    if request.method == "POST":
        if not may_designate:
            raise PermissionDenied
        form = {k: request.POST.get(k, "").strip() for k in form}
        at = parse_time(form["designated_at"].replace("T", " ")) if form["designated_at"] else timezone.now()
        try:
            if at is None:
                raise ZoneError("bad_time", "划定时间无效", "not a time")
            if at > timezone.now() + dt.timedelta(minutes=5):
                raise ZoneError(
                    "future_time", "划定时间不能晚于当前时间", "the designation cannot be in the future"
                )
            area = [c for c in form["area"].replace("，", ",").replace(";", ",").split(",")]
            zone = zone_designate(
                actor=actor, code=form["code"], name=form["name"], zone_type=form["type"], area=area, at=at
            )
        except ZoneError as exc:
            error = exc
        else:
            messages.success(request, _("区域已划定：%(code)s") % {"code": zone.code})
            return redirect("zones:zone", code=zone.code)
    at, on = _day(request)
    states = selectors.zones_on(actor=actor, at=at)
    # A short area is listed entry by entry, a compound or building with its name (two queries).
    places = selectors.place_names({a for s in states if len(s.area) <= AREA_LISTED for a in s.area})
    rows = [
        {
            "state": s,
            "label": _type_label(s.type),
            "colour": COLOURS.get(s.type, "#666"),
            "area": [(a, places.get(a, "")) for a in s.area] if len(s.area) <= AREA_LISTED else None,
        }
        for s in states
        if s.type != LIFTED or not on
    ]
    return render(
        request,
        "lianfang/zones/list.html",
        {
            "rows": rows,
            "on": on,
            "today": timezone.localdate().isoformat(),
            "may_designate": may_designate,
            "type_choices": _type_choices(),
            "form": form,
            "error": error,
            "proposals": list(selectors.proposals_open(actor=actor)),
        },
        status=400 if error else 200,
    )


@scoped
@require_safe
def zone_map(request):
    """County outlines (shipped) with every zone at its county, coloured by type; a slider of days
    redraws any past day from the history. Communities have no coordinates: said on the page."""
    actor = actor_of(request)
    zones = list(selectors.zones_visible(actor=actor))
    hist = selectors.facts.histories(zones)
    names = dict(Division.objects.filter(level=Level.COUNTY).values_list("code", "name"))
    # Compounds and buildings have no coordinates either: a zone drawn by them is marked at its
    # county like any other, and the list names them.
    places = selectors.place_names({a for h in hist.values() for c in h for a in c.area})
    data = {
        "zones": [
            {
                "code": z.code,
                "changes": [
                    {
                        "at": int(c.designated_at.timestamp() * 1000),
                        "type": c.type,
                        "name": c.name,
                        "label": _type_label(c.type),
                        "colour": COLOURS.get(c.type, "#666"),
                        "county_names": sorted({names.get(a[:6], a[:6]) for a in c.area}),
                        "places": [f"{places.get(a, '')} ({a})" for a in c.area if a in places],
                    }
                    for c in hist.get(z.code, [])
                ],
            }
            for z in zones
        ],
        "now": int(timezone.now().timestamp() * 1000),
        "text": {"none": _("当日无生效区域"), "lifted": _("已解除")},
    }
    first = min((c["at"] for z in data["zones"] for c in z["changes"]), default=data["now"])
    data["first"] = first
    below = [z.code for z in zones if selectors.below_community(z)]
    return render(
        request, "lianfang/zones/map.html", {"data": data, "zones": zones, "below_community": below}
    )


def _zone_or_404(request, code: str):
    zone = selectors.zone_get(actor=actor_of(request), code=code)
    if zone is None:
        raise Http404
    return zone


@scoped
@require_safe
def zone_detail(request, code: str):
    actor = actor_of(request)
    zone = _zone_or_404(request, code)
    now = timezone.now()
    status, status_at = selectors.zone_status(zone=zone, at=now), now
    proposals_refresh(at=now, zones=[zone], statuses=[status] if status else [])
    regime = regime_for_type(zone.type) if zone.type != LIFTED else None
    zone_type = regime.type(zone.type) if regime else None
    counts = selectors.residents_counts(actor=actor, zone=zone)
    proposals = list(zone.proposals.select_related("decided_by").order_by("-proposed_at")[:20])
    return render(
        request,
        "lianfang/zones/zone.html",
        {
            "zone": zone,
            "label": _type_label(zone.type),
            "colour": COLOURS.get(zone.type, "#666"),
            "regime": regime,
            "zone_type": zone_type,
            "status": status,
            "status_at": status_at,
            "area_shown": _area_shown(zone.area[:AREA_SHOWN]),
            "area_more": len(zone.area) > AREA_SHOWN,
            "conditions": _conditions(status),
            "open_proposal": next((p for p in proposals if p.status == ProposalStatus.OPEN), None),
            "proposals": proposals,
            "history": list(zone.changes.select_related("recorded_by").order_by("-designated_at")),
            "may_sign": actor.may("zone.sign") and all(actor.covers(c) for c in zone.area),
            "counts": counts,
            "needs": [(t.value, t.label, counts[t.value]) for t in Tag if _shows_tag(actor, t)],
            "may_residents": actor.may("zone.residents.read"),
            "requests": _requests_panel(actor, zone),
            "pool_policy": _("单采单检") if zone.type in ("sealed", "high") else _("按轮次混采策略"),
        },
    )


def _area_shown(area: list[str]) -> list[tuple[str, str]]:
    """The area's codes with the names of its compounds and buildings ("" for a community)."""
    names = selectors.place_names(area)
    return [(c, names.get(c, "")) for c in area]


def _requests_panel(actor, zone) -> dict | None:
    """The zone's open livelihood requests, from the app that states them (None: not installed)."""
    provide = plugins.provider("requests_in_area")
    if provide is None:
        return None
    return provide(actor, selectors.area_rows(zone), timezone.now())


def _shows_tag(actor, tag) -> bool:
    """Health tags are sensitive: only roles that see personal data see them, even as counts."""
    return actor.sees_personal_data or tag not in HEALTH_TAGS


def _conditions(status) -> list[dict]:
    """The conditions of the proposal, in words, and whether each holds now."""
    if status is None:
        return []
    texts = {
        "clear_days": _("无新增感染满期（计时起点起）"),
        "contacts": _("区内密接均已解除管控"),
        "round": _("一轮全员核酸：应检尽检、全部阴性，且在时限内采样"),
        "county": _("本县区封控区、管控区均已解除"),
    }
    return [
        {"code": c.code, "text": texts.get(c.code, c.code), "holds": c.holds, "detail": c.detail}
        for c in status.conditions
    ]


@scoped
@require_safe
def zone_notice(request, code: str):
    """The printable notice for residents: the zone, its type's measures, since when."""
    zone = _zone_or_404(request, code)
    if zone.type == LIFTED:
        raise Http404
    zone_type = regime_for_type(zone.type).type(zone.type)
    return render(request, "lianfang/zones/notice.html", {"zone": zone, "zone_type": zone_type})


@scoped
@require_safe
def zone_residents(request, code: str):
    """The people inside: the registry's residents of the zone's communities (one query), their
    special needs and their status in the current round; masked per role and audited."""
    actor = actor_of(request)
    if not actor.may("zone.residents.read"):
        raise PermissionDenied
    zone = _zone_or_404(request, code)
    tags = [(t.value, t.label) for t in Tag if _shows_tag(actor, t)]
    tag = request.GET.get("tag", "")
    if tag not in dict(tags):
        tag = ""
    # Without a total count (the zone page has it from the registry's counts): one query for the
    # page and one row more to know whether a next page exists.
    try:
        number = max(1, min(int(request.GET.get("page", "1")), 100_000))
    except ValueError:
        number = 1
    start = (number - 1) * RESIDENTS_PAGE
    people = list(selectors.residents(actor=actor, zone=zone, tag=tag)[start : start + RESIDENTS_PAGE + 1])
    page = {"number": number, "has_next": len(people) > RESIDENTS_PAGE, "has_previous": number > 1}
    people = people[:RESIDENTS_PAGE]
    rnd = selectors.current_round(zone=zone, at=timezone.now())
    status = selectors.round_status_of(people=people, rnd=rnd)
    rows = [{**person_public(p, actor), "status": status.get(p.pk, "")} for p in people]
    audit_record(
        actor=actor,
        action="view",
        object_type="zone_residents",
        object_id=zone.code,
        detail={"page": number, "count": len(rows), "tag": tag, "masked": not actor.sees_personal_data},
    )
    return render(
        request,
        "lianfang/zones/residents.html",
        {
            "zone": zone,
            "page": page,
            "rows": rows,
            "rnd": rnd,
            "tag": tag,
            "tags": tags,
            "status_labels": {
                "negative": _("阴性"),
                "pending": _("待出结果"),
                "invalid": _("无效"),
                "abnormal": _("异常"),
                "untested": _("未采样"),
            },
        },
    )


@scoped
@require_POST
def proposal_sign_view(request, code: str, pk: int):
    actor = actor_of(request)
    zone = _zone_or_404(request, code)
    try:
        proposal = proposal_sign(actor=actor, pk=_proposal_pk(zone, pk))
    except Refused as exc:
        if exc.code == "not_found":
            raise Http404 from None
        if exc.code == "not_permitted":
            raise PermissionDenied from None
        messages.error(request, f"{exc.zh} / {exc.en}")
    else:
        if proposal.status == ProposalStatus.SIGNED:
            messages.success(request, _("已签发，区域变更已记录"))
        else:
            messages.error(request, _("条件已不再满足，建议已撤回；区域未变更"))
    return redirect("zones:zone", code=zone.code)


@scoped
@require_POST
def proposal_reject_view(request, code: str, pk: int):
    actor = actor_of(request)
    zone = _zone_or_404(request, code)
    try:
        proposal_reject(actor=actor, pk=_proposal_pk(zone, pk), reason=request.POST.get("reason", ""))
    except Refused as exc:
        if exc.code == "not_found":
            raise Http404 from None
        if exc.code == "not_permitted":
            raise PermissionDenied from None
        messages.error(request, f"{exc.zh} / {exc.en}")
    else:
        messages.success(request, _("已驳回"))
    return redirect("zones:zone", code=zone.code)


def _proposal_pk(zone, pk: int) -> int:
    if not zone.proposals.filter(pk=pk).exists():
        raise Http404
    return pk
