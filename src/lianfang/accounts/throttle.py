"""What django-axes counts login failures by (settings.AXES_*): the account, folded like a login."""

from __future__ import annotations


def username_of(request, credentials: dict | None = None) -> str:
    """The username a login attempt names, trimmed and lower-cased, so that `JJ_Office ` and
    `jj_office` are one account to the throttle (as they are one person typing)."""
    source = credentials if credentials else getattr(request, "POST", {}) or {}
    return str(source.get("username", "")).strip().lower()[:150]
