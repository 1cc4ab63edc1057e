"""Reading and switching the protocol edition in force."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction

from lianfang import protocol
from lianfang.accounts.scoping import Actor
from lianfang.accounts.services import audit_record
from lianfang.core import codes
from lianfang.edition.models import EditionSwitch
from lianfang.geo.models import Division, Level


class EditionError(ValueError):
    """A switch that cannot be done, with a message in Chinese and in English."""


def edition_code_in_force() -> str:
    """The code of the edition in force: the last switch, else the ``LIANFANG_PROTOCOL`` setting."""
    last = EditionSwitch.objects.order_by("-switched_at", "-id").values_list("edition", flat=True).first()
    return last or settings.LIANFANG_PROTOCOL


def in_force() -> protocol.Protocol:
    """The rules new records are made under (each record keeps the edition it was made under)."""
    code = edition_code_in_force()
    try:
        return protocol.edition(code)
    except protocol.UnknownEdition as exc:
        raise ImproperlyConfigured(f"LIANFANG_PROTOCOL: {exc}") from exc


def _covers_the_whole_tree(actor: Actor) -> bool:
    """Every city of the deployment's division tree lies in the actor's jurisdictions."""
    cities = list(Division.objects.filter(level=Level.CITY).values_list("code", flat=True))
    return bool(cities) and all(codes.covered(city, actor.codes) for city in cities)


@transaction.atomic
def edition_switch(*, actor: Actor | None, code: str, reason: str) -> EditionSwitch:
    """Put edition ``code`` in force from now on. ``actor`` None is the server's own authority.

    Only a role with ``protocol.switch`` whose jurisdiction covers the whole division tree may
    switch: the edition is the city's rule, not a county's."""
    if actor is not None and not (actor.may("protocol.switch") and _covers_the_whole_tree(actor)):
        raise EditionError(
            "只有全市指挥长可以切换防控方案版本 / only a city-wide commander may switch the edition"
        )
    try:
        target = protocol.edition(code)
    except protocol.UnknownEdition as exc:
        raise EditionError(str(exc)) from exc
    reason = (reason or "").strip()
    if not reason:
        raise EditionError("请写明切换依据（文件名称、文号）/ give the reason (the document and its number)")
    previous = edition_code_in_force()
    if target.code == previous:
        raise EditionError(f"{target.code} 已在执行 / {target.code} is already in force")
    switch = EditionSwitch.objects.create(
        edition=target.code,
        previous=previous,
        switched_by=actor.user if actor is not None else None,
        reason=reason[:2000],
    )
    audit_record(
        actor=actor,
        action="update",
        object_type="protocol",
        object_id=target.code,
        detail={"from": previous, "to": target.code, "reason": reason[:500]},
    )
    return switch
