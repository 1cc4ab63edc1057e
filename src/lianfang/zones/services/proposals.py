"""Proposals: the platform proposes (lift, downgrade, upgrade) when a zone's conditions hold; a
commander signs (a change is recorded at the signature) or rejects with a reason. Nothing
changes a zone's type by itself."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from lianfang.accounts.scoping import Actor, require
from lianfang.accounts.services import audit_record
from lianfang.core.fields import bad_text
from lianfang.core.times import format_time
from lianfang.edition.services import in_force
from lianfang.zones import clock, facts
from lianfang.zones.models import ProposalStatus, Source, Zone, ZoneProposal
from lianfang.zones.services.designation import zone_change_record
from lianfang.zones.services.errors import ZoneError, not_found


def _basis(status: clock.ZoneStatus) -> dict:
    def plain(value):
        return format_time(value) if isinstance(value, dt.datetime) else value

    return {
        "clock_from": format_time(status.clock_from),
        "eligible_at": format_time(status.eligible_at),
        "reset_by": status.reset_by,
        "regime": status.regime,
        "conditions": [
            {"code": c.code, "holds": c.holds, **{k: plain(v) for k, v in c.detail.items()}}
            for c in status.conditions
        ],
    }


@transaction.atomic
def proposals_refresh(*, at: dt.datetime | None = None, zones=None, statuses=None) -> list[ZoneProposal]:
    """Bring the open proposals in line with the zones' status at ``at`` (now): a zone whose
    conditions hold gets one open proposal; one whose conditions no longer hold has its open
    proposal withdrawn. A proposal rejected for the same clock is not made again (the clock
    must move first). Returns the proposals opened."""
    at = at or timezone.now()
    opened = []
    if statuses is None:
        statuses = facts.zones_status(at, zones)
    by_code = {z.code: z for z in Zone.objects.filter(code__in=[s.state.zone_code for s in statuses])}
    open_ = {
        p.zone_id: p
        for p in ZoneProposal.objects.select_for_update().filter(
            zone__in=list(by_code.values()), status=ProposalStatus.OPEN
        )
    }
    edition = in_force().code
    for status in statuses:
        zone = by_code[status.state.zone_code]
        current = open_.get(zone.pk)
        wanted = (status.proposal, status.proposed_type) if status.proposal else None
        if current is not None and (
            wanted != (current.action, current.to_type) or current.from_type != zone.type
        ):
            current.status, current.decided_at = ProposalStatus.WITHDRAWN, at
            current.save(update_fields=["status", "decided_at"])
            current = None
        if wanted is None or current is not None:
            continue
        if ZoneProposal.objects.filter(
            zone=zone, action=status.proposal, clock_from=status.clock_from, status=ProposalStatus.REJECTED
        ).exists():
            continue
        opened.append(
            ZoneProposal.objects.create(
                zone=zone,
                action=status.proposal,
                from_type=zone.type,
                to_type=status.proposed_type,
                clock_from=status.clock_from,
                proposed_at=at,
                basis=_basis(status),
                edition=edition,
            )
        )
    return opened


def _locked_open(actor: Actor | None, pk: int) -> ZoneProposal:
    zones = Zone.objects.all() if actor is None else Zone.objects.visible_to(actor)
    proposal = (
        ZoneProposal.objects.select_for_update().filter(pk=pk, zone__in=zones).select_related("zone").first()
    )
    if proposal is None:
        raise not_found()
    if actor is not None and not all(actor.covers(c) for c in proposal.zone.area):
        raise ZoneError(
            "not_whole_area",
            "签发或驳回须对该区域的全部范围有管辖权",
            "signing or rejecting needs authority over the zone's whole area",
        )
    if proposal.status != ProposalStatus.OPEN:
        raise ZoneError("not_open", "该建议已处理或已撤回", "the proposal was already decided or withdrawn")
    return proposal


@transaction.atomic
def proposal_sign(*, actor: Actor | None, pk: int, at: dt.datetime | None = None) -> ZoneProposal:
    """Sign an open proposal: the zone changes to the proposed type at the signature (a change in
    its history, with the signer), if its conditions still hold; otherwise the proposal is
    withdrawn and returned with that status (nothing else changes)."""
    require(actor, "zone.sign")
    proposal = _locked_open(actor, pk)
    at = at or timezone.now()
    zone = Zone.objects.select_for_update().get(pk=proposal.zone_id)
    status = facts.zone_status_now(zone, at)
    if status is None or (status.proposal, status.proposed_type) != (proposal.action, proposal.to_type):
        proposal.status, proposal.decided_at = ProposalStatus.WITHDRAWN, at
        proposal.save(update_fields=["status", "decided_at"])
        return proposal
    if at <= zone.changed_at:
        raise ZoneError(
            "stale_change",
            "签发时间须晚于该区域最近一次变更",
            "the signature must come after the zone's last change",
        )
    zone_change_record(
        actor=actor,
        zone=zone,
        code=zone.code,
        zone_type=proposal.to_type,
        name=zone.name,
        area=zone.area,
        at=at,
        source=Source.PROPOSAL,
    )
    proposal.status, proposal.decided_at = ProposalStatus.SIGNED, at
    proposal.decided_by = getattr(actor, "user", None)
    proposal.change = zone.changes.order_by("-designated_at").first()
    proposal.save(update_fields=["status", "decided_at", "decided_by", "change"])
    audit_record(
        actor=actor,
        action="zone_sign",
        object_type="zone",
        object_id=zone.code,
        detail={"proposal": proposal.pk},
    )
    return proposal


@transaction.atomic
def proposal_reject(
    *, actor: Actor | None, pk: int, reason: str, at: dt.datetime | None = None
) -> ZoneProposal:
    """Reject an open proposal with a reason (required); the zone stays as it is."""
    require(actor, "zone.sign")
    reason = reason.strip()
    max_length = ZoneProposal._meta.get_field("reason").max_length
    if not reason or bad_text(reason, max_length) or len(reason) > max_length:
        raise ZoneError(
            "bad_reason",
            "请填写驳回理由（不超过200字）",
            "give a reason for the rejection (at most 200 characters)",
        )
    proposal = _locked_open(actor, pk)
    proposal.status, proposal.decided_at = ProposalStatus.REJECTED, at or timezone.now()
    proposal.decided_by, proposal.reason = getattr(actor, "user", None), reason
    proposal.save(update_fields=["status", "decided_at", "decided_by", "reason"])
    audit_record(
        actor=actor,
        action="zone_reject",
        object_type="zone",
        object_id=proposal.zone.code,
        detail={"proposal": proposal.pk, "reason": reason},
    )
    return proposal


def proposals_refresh_timed(now: dt.datetime) -> str:
    """The worker's timed run of :func:`proposals_refresh` over every zone (``Plugin.periodic``)."""
    return f"opened {len(proposals_refresh(at=now))}"
