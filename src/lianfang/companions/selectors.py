"""The companions reads, each taking the actor (scoped through ``visible_to``)."""

from __future__ import annotations

from lianfang.accounts.masking import mask_id_number, mask_phone
from lianfang.accounts.scoping import Actor
from lianfang.companions.models import CompanionMatch, CompanionRun, MatchStatus


def runs_visible(*, actor: Actor):
    return CompanionRun.objects.visible_to(actor)


def run_get(*, actor: Actor, run_id) -> CompanionRun | None:
    return CompanionRun.objects.visible_to(actor).filter(pk=run_id).first()


def matches_visible(*, actor: Actor, run_id=None, status: str = MatchStatus.PENDING, case_code: str = ""):
    """The result rows the actor sees: their case's or their matched person's jurisdiction."""
    rows = CompanionMatch.objects.visible_to(actor)
    if run_id is not None:
        rows = rows.filter(run_id=run_id)
    if status:
        rows = rows.filter(status=status)
    if case_code:
        rows = rows.filter(case_code=case_code)
    return rows.order_by("case_code", "-minutes", "person_key", "id")


def shown(match: CompanionMatch, actor: Actor) -> dict:
    """A row's personal data as ``actor`` may see it (accounts/masking.py)."""
    full = actor.sees_personal_data
    key = match.person_key
    if not full:
        key = mask_phone(key) if match.key_kind == "phone" else mask_id_number(key)
    return {
        "person_key": key,
        "id_number": match.id_number if full else mask_id_number(match.id_number),
        "phone": match.phone if full else mask_phone(match.phone),
        "masked": not full,
        "decidable": actor.covers(match.case_community_code) if match.case_community_code else False,
    }
