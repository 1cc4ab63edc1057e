"""The briefing pages: the list (and publishing a cutoff), one briefing, its DOCX and PDF."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from lianfang.accounts.scoping import actor_of, scoped
from lianfang.accounts.services import audit_record
from lianfang.command.documents import LABELS, correction_lines, press_text, write_docx, write_pdf
from lianfang.command.selectors.briefing import areas_for, briefing_get, briefings_visible, whole_city
from lianfang.command.services.briefing import KEYS, briefing_publish, parse_cutoff, window_day
from lianfang.core.errors import Refused


@scoped
@require_http_methods(["GET", "POST"])
def briefing_list(request):
    actor = actor_of(request)
    if not actor.may("briefing.read"):
        raise Http404
    may_publish = actor.may("briefing.publish") and any(len(c) <= 4 for c in actor.codes)
    error = ""
    if request.method == "POST":
        if not may_publish:
            raise Http404
        try:
            cutoff = parse_cutoff(request.POST.get("cutoff", ""))
            briefing = briefing_publish(cutoff=cutoff)
            audit_record(
                actor=actor, action="create", object_type="briefing", object_id=str(window_day(cutoff))
            )
            return redirect("command:briefing", day=window_day(briefing.cutoff).isoformat())
        except Refused as exc:
            error = f"{exc.zh} / {exc.en}"
    items = [(b, window_day(b.cutoff)) for b in briefings_visible(actor=actor)[:60]]
    return render(
        request,
        "lianfang/command/briefing_list.html",
        {"items": items, "may_publish": may_publish, "error": error},
        status=400 if error else 200,
    )


def _day(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise Http404 from None


@scoped
@require_GET
def briefing_detail(request, day: str):
    actor = actor_of(request)
    briefing = briefing_get(actor=actor, day=_day(day))
    if briefing is None:
        raise Http404
    areas = areas_for(actor=actor, briefing=briefing)
    if not areas:
        raise Http404
    full = whole_city(actor=actor, briefing=briefing)
    audit_record(actor=actor, action="view", object_type="briefing", object_id=day)
    rows = [{"code": a["code"], "name": a["name"], "values": [a[k] for k in KEYS]} for a in areas]
    return render(
        request,
        "lianfang/command/briefing.html",
        {
            "briefing": briefing,
            "day": day,
            "labels": [LABELS[k][0] for k in KEYS],
            "rows": rows,
            "press": press_text(briefing) if full else "",
            "corrections": correction_lines(briefing) if full else [],
            "downloads": full,
        },
    )


CONTENT_TYPES = {
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "pdf": "application/pdf",
}


@scoped
@require_GET
def briefing_download(request, day: str, fmt: str):
    actor = actor_of(request)
    briefing = briefing_get(actor=actor, day=_day(day))
    if briefing is None or fmt not in ("docx", "pdf") or not whole_city(actor=actor, briefing=briefing):
        raise Http404
    with tempfile.TemporaryDirectory(prefix="lianfang-briefing-") as tmp:
        try:
            path = (write_docx if fmt == "docx" else write_pdf)(briefing, Path(tmp) / f"briefing.{fmt}")
        except Refused as exc:
            error = f"{exc.zh} / {exc.en}"
            return render(
                request, "lianfang/command/briefing_list.html", {"items": [], "error": error}, status=503
            )
        data = path.read_bytes()
    audit_record(actor=actor, action="export", object_type="briefing", object_id=f"{day}.{fmt}")
    response = HttpResponse(data, content_type=CONTENT_TYPES[fmt])
    response["Content-Disposition"] = f'attachment; filename="briefing-{day}.{fmt}"'
    return response
