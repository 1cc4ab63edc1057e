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
