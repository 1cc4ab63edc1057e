from __future__ import annotations

from django.urls import reverse

from lianfang.accounts.scoping import actor_of
from lianfang.core import plugins


def navigation(request):
    """The navigation: what the installed apps declared, limited to what this user may use."""
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    actor = actor_of(request)
    entries = [e for e in plugins.nav_entries() if e.verb is None or actor.may(e.verb)]
    links = [{"label": e.label, "url": reverse(e.url_name), "active": e.active} for e in entries]
    # The current entry: the one whose URL is the page, else the longest prefix of the page's path.
    path, best, best_len = request.path, None, -1
    for i, link in enumerate(links):
        for prefix in (link["url"], *link["active"]):
            matches = path == prefix or (prefix != "/" and path.startswith(prefix))
            if matches and len(prefix) > best_len:
                best, best_len = i, len(prefix)
    for i, link in enumerate(links):
        link["current"] = i == best
    return {"actor": actor, "nav": links}
