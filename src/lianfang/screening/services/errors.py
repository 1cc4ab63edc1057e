"""What a screening service refuses, with a message in Chinese and in English.

Every service checks the actor's role itself (``actor`` None is the server's authority: the CLI,
loaders), so the API, the pages, uploads run as tasks and the CLI obey the same rule; the edges
only translate a refusal (:class:`NotPermitted` → 403, :class:`NotFound` → 404).
"""

from __future__ import annotations

from lianfang.accounts.scoping import Actor


class ScreeningError(ValueError):
    """A request that cannot be done, with a message in Chinese and in English."""

    def __init__(self, code: str, zh: str, en: str):
        super().__init__(f"{zh} / {en}")
        self.code, self.zh, self.en = code, zh, en


class NotPermitted(ScreeningError):
    """The actor's role may not do this (the role sets of :mod:`lianfang.accounts.roles`)."""

    def __init__(self):
        super().__init__("not_permitted", "您的角色无权执行此操作", "your role may not do this")


class NotFound(ScreeningError):
    """An object the request names is not there, or not the actor's to use: the same answer."""


def require(actor: Actor | None, verb: str) -> None:
    """Refuse an actor whose role lacks ``verb`` (declared in the plugin); None (the server's
    authority) may do anything."""
    if actor is not None and not actor.may(verb):
        raise NotPermitted
