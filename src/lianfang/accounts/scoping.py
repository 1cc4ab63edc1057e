"""The one jurisdiction-scoping mechanism: deny by default.

Every request is served as an :class:`Actor` — a user (or a device token) with a role and the
division codes of their jurisdictions. Every queryset that holds people or places offers
``.visible_to(actor)``; every view is marked :func:`scoped` (login required, data through
``visible_to``) or :func:`public` (login page, language switch). The middleware refuses any view
that is marked neither, so a new page that forgets scoping is refused rather than served.
"Not there" and "not yours" are the same 404.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import wraps

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.db import models
from django.http import Http404
from django.utils.translation import gettext_lazy as _

from lianfang.accounts.roles import sees_personal_data
from lianfang.core import codes as codes_
from lianfang.core import plugins
from lianfang.core.errors import Refused

log = logging.getLogger(__name__)

ACCESS_ATTR = "lianfang_access"
SCOPED, PUBLIC = "scoped", "public"


@dataclass(frozen=True)
class Actor:
    """Who is asking: the user (or a device token's user), their role and jurisdiction codes."""

    user: object | None
    role: str
    codes: tuple[str, ...]
    token_id: int | None = None
    ip: str | None = None
    extra: dict = field(default_factory=dict, compare=False)

    @property
    def sees_personal_data(self) -> bool:
        return sees_personal_data(self.role)

    def may(self, verb: str) -> bool:
        """True when the actor's role has ``verb``, a permission some app declared in its plugin
        (``round.open``, ``persons.import`` …). Server authority (no user: the CLI) is not an actor."""
        return bool(self.role) and self.role in plugins.roles_for(verb)

    def covers(self, code: str) -> bool:
        """True when ``code`` (any level) lies inside one of the actor's jurisdictions."""
        return codes_.covered(code, self.codes)

    @classmethod
    def for_user(cls, user, *, ip: str | None = None, token_id: int | None = None) -> Actor:
        if user is None or not user.is_authenticated or not user.is_active:
            return cls(user=None, role="", codes=(), ip=ip)
        codes = tuple(sorted(user.jurisdictions.values_list("division_id", flat=True)))
        return cls.of(user, codes=codes, ip=ip, token_id=token_id)

    @classmethod
    def of(cls, user, *, codes: tuple[str, ...], ip: str | None = None, token_id: int | None = None) -> Actor:
        """An active user's actor, their jurisdiction codes already read."""
        return cls(user=user, role=user.role, codes=codes_.outermost(codes), token_id=token_id, ip=ip)


class NotPermitted(Refused):
    """The actor's role lacks the verb (declared in an app's plugin)."""

    def __init__(self):
        super().__init__("not_permitted", "您的角色无权执行此操作", "your role may not do this")


def require(actor: Actor | None, verb: str, *, error: type[Refused] = NotPermitted) -> None:
    """Refuse an actor whose role lacks ``verb``; None (the server's authority: the CLI, loaders)
    may do anything. Services call this first, so every edge meets the same rule."""
    if actor is not None and not actor.may(verb):
        raise error()


def client_ip(request) -> str | None:
    """The address a request came from: ``REMOTE_ADDR``, or, when that is one of the configured
    ``TRUSTED_PROXIES``, the last hop the proxy appended to ``X-Forwarded-For`` (the hops before it
    are whatever the client chose to send, so they are never believed)."""
    remote = request.META.get("REMOTE_ADDR")
    if remote and remote in settings.TRUSTED_PROXIES:
        hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if h.strip()]
        if hops:
            try:
                return str(ipaddress.ip_address(hops[-1]))
            except ValueError:
                pass
    return remote


def actor_of(request) -> Actor:
    """The request's actor, computed once per request."""
    actor = getattr(request, "_lianfang_actor", None)
    if actor is None:
        actor = Actor.for_user(getattr(request, "user", None), ip=client_ip(request))
        request._lianfang_actor = actor
    return actor


# The code columns of a located row, by the length of the codes they hold.
LOCATED_COLUMNS: Mapping[int, str] = codes_.COLUMN_OF_LENGTH


def inside_q(codes: Iterable[str], columns: Mapping[int, str] = LOCATED_COLUMNS) -> models.Q:
    """A filter for rows whose code columns lie inside any of ``codes``: the tests of
    :func:`lianfang.core.codes.lookups` (exact matches on the indexed columns wherever a code's
    length allows it, fast on both databases; a prefix otherwise). No code matches nothing.

    A single column holding codes of any level (a division's own code) is declared at 12, the
    longest: a shorter code is then a prefix, which also matches the code itself.
    """
    q = None
    for column, code, prefix in codes_.lookups(codes, columns):
        test = models.Q(**{f"{column}__startswith" if prefix else column: code})
        q = test if q is None else q | test
    return models.Q(pk__in=[]) if q is None else q


def overlap_q(codes: Iterable[str], column: str) -> models.Q:
    """Rows whose division code ``column`` (any level) lies inside one of ``codes`` or contains
    one of them: the divisions above an actor's jurisdictions and those within."""
    codes = tuple(codes)
    enclosing = sorted({a for code in codes for a in codes_.ancestors(code)})
    return inside_q(codes, {12: column}) | models.Q(**{f"{column}__in": enclosing})


def division_q(codes: tuple[str, ...], *, county: str, town: str, community: str) -> models.Q:
    """A filter for rows whose community lies inside any of ``codes``, the columns named (through
    a relation, e.g. ``site__county_code``); no code matches nothing."""
    return inside_q(codes, {6: county, 9: town, 12: community})


class ScopedQuerySet(models.QuerySet):
    """Base for querysets of scoped data: ``visible_to(actor)`` or, knowingly, ``dangerously_all()``."""

    def visible_to(self, actor: Actor):  # pragma: no cover - every subclass implements it
        raise NotImplementedError

    def dangerously_all(self):
        """Unscoped: for the CLI (server authority), migrations and background jobs only."""
        return self.all()


class LocatedQuerySet(ScopedQuerySet):
    """Rows that lie in one community: ``visible_to`` written once, from a declared path.

    A subclass declares ``located_path``: ``""`` when the model carries the code columns itself
    (``county_code``, ``town_code``, ``community_id``; see :class:`Located`), or the foreign key
    leading to the row that does (``"site"``, ``"task"``). A model with fewer code columns names
    them in ``located_columns``, by the length of the codes they hold (a table keyed by community
    alone: ``{12: "community__code"}``; a prefix match on a key goes through its target field,
    which Django resolves without a join).

    Deny by default: a queryset that declares no path shows nothing, to every actor, and so does
    an actor without jurisdictions.
    """

    located_path: str | None = None
    located_columns: Mapping[int, str] = LOCATED_COLUMNS

    def visible_to(self, actor: Actor):
        return self.within(actor.codes)

    def within(self, area: Iterable[str]):
        """Rows inside the division codes ``area`` (an area of a page, on top of ``visible_to``);
        nothing without a declared path or without a code."""
        path, area = self.located_path, tuple(area)
        if path is None or not area:
            return self.none()
        through = f"{path}__" if path else ""
        columns = {length: through + column for length, column in self.located_columns.items()}
        return self.filter(inside_q(area, columns))


class Located(models.Model):
    """The indexed code columns of a row that lies in one community.

    ``town_code`` and ``county_code`` are the community's code cut to 9 and 6 digits, written
    with the community by whoever writes the row; :class:`LocatedQuerySet` filters on them with
    exact matches. Pair it with a ``LocatedQuerySet`` declaring ``located_path = ""``.
    """

    community = models.ForeignKey(
        "geo.Division", on_delete=models.PROTECT, related_name="+", verbose_name=_("社区村")
    )
    town_code = models.CharField(max_length=9, db_index=True, editable=False)
    county_code = models.CharField(max_length=6, db_index=True, editable=False)

    class Meta:
        abstract = True


def scoped(view):
    """Mark a view as jurisdiction-safe: it needs a login and reads data through ``visible_to``."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        return view(request, *args, **kwargs)

    setattr(wrapper, ACCESS_ATTR, SCOPED)
    return wrapper


def public(view):
    """Mark a view that shows no scoped data (login, language switch)."""
    setattr(view, ACCESS_ATTR, PUBLIC)
    return view


# Namespaces that guard themselves: the Django admin (staff + admin role only, no personal data
# registered in it) and the token-authenticated API (every route scoped through the token's actor).
SELF_GUARDED_NAMESPACES = frozenset({"admin", "api"})


class JurisdictionMiddleware:
    """Refuse every view that is not explicitly marked scoped or public (deny by default)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        match = request.resolver_match
        if match is not None and set(match.namespaces) & SELF_GUARDED_NAMESPACES:
            return None
        if getattr(view_func, ACCESS_ATTR, None) in (SCOPED, PUBLIC):
            return None
        log.error(
            "view %s is not marked scoped or public: refused", getattr(view_func, "__name__", view_func)
        )
        raise Http404
