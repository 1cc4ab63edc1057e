"""What a screening service refuses, with a message in Chinese and in English.

Every service checks the actor's role itself (``actor`` None is the server's authority: the CLI,
loaders), so the API, the pages, uploads run as tasks and the CLI obey the same rule; the edges
only translate a refusal (:class:`NotPermitted` → 403, :class:`NotFound` → 404).
"""

from __future__ import annotations

from lianfang.accounts import scoping
from lianfang.accounts.scoping import Actor
from lianfang.core.errors import Refused


class ScreeningError(Refused, ValueError):
    """A request that cannot be done, with a message in Chinese and in English."""


class NotPermitted(ScreeningError, scoping.NotPermitted):
    """The actor's role lacks the verb (declared in the screening plugin)."""

    def __init__(self):
        scoping.NotPermitted.__init__(self)


class NotFound(ScreeningError):
    """An object the request names is not there, or not the actor's to use: the same answer."""


def require(actor: Actor | None, verb: str) -> None:
    """:func:`lianfang.accounts.scoping.require`, refusing with the screening error the edges map."""
    scoping.require(actor, verb, error=NotPermitted)


class OutsideJurisdiction(NotPermitted):
    """The actor's role has the verb, but the object it changes reaches beyond their jurisdiction
    (a round over several counties, the city's labs): the whole scope must be theirs."""

    def __init__(self, zh: str = "超出您的辖区", en: str = "outside your jurisdiction"):
        ScreeningError.__init__(self, "out_of_jurisdiction", zh, en)


def require_covers(actor: Actor | None, division_codes, *, what_zh: str, what_en: str) -> None:
    """Refuse an actor whose jurisdictions do not cover every one of ``division_codes`` (the
    whole scope of the object a write changes); None (server authority) may."""
    if actor is None:
        return
    division_codes = list(division_codes)
    if not division_codes or not all(actor.covers(c) for c in division_codes):
        raise OutsideJurisdiction(
            f"{what_zh}超出您的辖区，只有辖区覆盖其全部范围的用户可以操作",
            f"{what_en} reaches beyond your jurisdiction: only users covering all of it may change it",
        )


def _cities() -> list[str]:
    from lianfang.geo.models import Division, Level

    return list(Division.objects.filter(level=Level.CITY).values_list("code", flat=True))


def city_wide(actor: Actor | None) -> bool:
    """Do the actor's jurisdictions cover every city of the division tree (None: the server)?"""
    if actor is None:
        return True
    cities = _cities()
    return bool(cities) and all(actor.covers(c) for c in cities)


def require_city_wide(actor: Actor | None, *, what_zh: str, what_en: str) -> None:
    """City-wide reference data (the labs) is written only by actors whose jurisdictions cover
    every city of the division tree (as the protocol edition's switch)."""
    if actor is None:
        return
    require_covers(actor, _cities(), what_zh=what_zh, what_en=what_en)


def code_taken(kind_zh: str, kind_en: str, code: str) -> ScreeningError:
    """A code (round, box, tube) already used by an object the actor may not change: the answer
    says no more than that the code is taken, whatever county holds it (codes are unique city-wide,
    so "taken" itself cannot be hidden; its scope, round, site and contents are)."""
    return ScreeningError(
        "code_taken", f"{kind_zh} {code} 已被占用，请换一个", f"{kind_en} {code} is taken: use another"
    )
