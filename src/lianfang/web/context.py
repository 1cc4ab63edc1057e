from __future__ import annotations

from lianfang.accounts.scoping import actor_of


def navigation(request):
    """The navigation: only what exists and what this user may use."""
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    actor = actor_of(request)
    return {"actor": actor}
