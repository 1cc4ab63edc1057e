"""The big screen (指挥大屏): a full-screen page and the cached JSON it polls."""

from __future__ import annotations

from django.http import Http404, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from lianfang.accounts.scoping import actor_of, scoped
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
        {"refresh_seconds": REFRESH_SECONDS, "window_hours": int(DAY.total_seconds() // 3600)},
    )


@scoped
@require_GET
def screen_json(request):
    """Aggregates only (no person): not audited per poll, a hundred screens would drown the log."""
    actor = actor_of(request)
    if not actor.may("screen.read") or not actor.codes:
        raise Http404
    return JsonResponse(screen_data(actor=actor), json_dumps_params={"ensure_ascii": False})
