"""The big screen (指挥大屏): a full-screen page and the cached JSON it polls."""

from __future__ import annotations

from django.http import Http404, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from lianfang.accounts.scoping import actor_of, scoped
from lianfang.command.selectors.overdue import KIND_LABELS
from lianfang.command.selectors.screen import REFRESH_SECONDS, screen_data
from lianfang.command.services.briefing import DAY


@scoped
@require_GET
def screen(request):
    actor = actor_of(request)
    if not actor.may("screen.read") or not actor.codes:
        raise Http404
    return render(
        request,
        "lianfang/command/screen.html",
        {
            "refresh_seconds": REFRESH_SECONDS,
            "window_hours": int(DAY.total_seconds() // 3600),
            "labels": labels(),
        },
    )


def labels() -> dict:
    """The words the screen's script draws, in the reader's language (the polled JSON is shared by
    every reader of a jurisdiction, so it carries keys, not words)."""
    return {
        "kinds": {k: str(v) for k, v in KIND_LABELS.items()},
        "levels": {
            "province": _("省级"),
            "city": _("市级"),
            "county": _("县级"),
            "town": _("镇街"),
            "community": _("村社"),
        },
        "in_control": _("管控中发现"),
        "in_society": _("社会面"),
        "no_overdue": _("无超时"),
        "no_problems": _("无未销号问题"),
        "overdue_of": _("（超时 %(n)s）"),
    }


@scoped
@require_GET
def screen_json(request):
    """Aggregates only (no person): not audited per poll, a hundred screens would drown the log."""
    actor = actor_of(request)
    if not actor.may("screen.read") or not actor.codes:
        raise Http404
    return JsonResponse(screen_data(actor=actor), json_dumps_params={"ensure_ascii": False})
