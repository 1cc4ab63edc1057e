"""Sealed transport boxes (箱码/封包码) handed over from a site towards a lab."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from lianfang.accounts.scoping import Actor
from lianfang.accounts.services import audit_record
from lianfang.screening.models import Box, Lab, Round, Site, Tube
from lianfang.screening.services.clock import plausible_time
from lianfang.screening.services.errors import NotFound, ScreeningError, code_taken, require


@transaction.atomic
def box_handover(
    *,
    actor: Actor | None,
    box_code: str,
    round_code: str,
    tubes: Iterable[str],
    site_code: str = "",
    lab_code: str = "",
    handed_over_at: dt.datetime | None = None,
    site: Site | None = None,
) -> tuple[Box, list[str]]:
    """Hand a sealed box over for transport: its tubes get the box code if they have none.

    ``site``: the site a device is bound to. The box's site defaults to it and may be no other:
    another site is unknown to the device (:class:`NotFound`), as is a site or round outside the
    actor's jurisdiction. Only the round's tubes of the box's site are boxed. Returns the box and
    the barcodes among ``tubes`` that were not found there.
    """
    require(actor, "samples.import")
    barcodes = list(tubes)
    site_code = site_code or (site.code if site is not None else "")
    sites = Site.objects.all() if actor is None else Site.objects.visible_to(actor)
    box_site = sites.filter(code=site_code).first()
    if box_site is None or (site is not None and site != box_site):
        raise NotFound("unknown_site", "采样点不存在", "unknown site")
    rounds = Round.objects.all() if actor is None else Round.objects.visible_to(actor)
    rnd = rounds.filter(code=round_code).first()
    if rnd is None:
        raise NotFound("unknown_round", "轮次不存在", "unknown round")
    now = timezone.now()
    handed_over_at = (
        now
        if handed_over_at is None
        else plausible_time(
            handed_over_at, round_start=rnd.starts_at, now=now, zh="交接时间", en="hand-over time"
        )
    )
    box, _ = Box.objects.get_or_create(
        code=box_code,
        defaults={"round": rnd, "site": box_site, "handed_over_at": handed_over_at},
    )
    if box.site_id != box_site.id and not sites.filter(pk=box.site_id).exists():
        # Another county's box (or, for a device, another site's): nothing of it is told.
        raise code_taken("箱码", "the box code", box_code)
    if box.site_id != box_site.id:
        raise ScreeningError(
            "box_of_other_site", "箱码已被其他采样点使用", "the box code belongs to another site"
        )
    boxed = Tube.objects.filter(round=rnd, site=box_site, barcode__in=barcodes)
    known = set(boxed.values_list("barcode", flat=True))
    boxed.filter(box_code="").update(box_code=box.code)
    box.tubes = Tube.objects.filter(box_code=box.code).count()
    if lab_code:
        box.lab = Lab.objects.filter(code=lab_code).first()
    box.save(update_fields=["tubes", "lab"])
    audit_record(
        actor=actor, action="update", object_type="box", object_id=box.code, detail={"tubes": len(known)}
    )
    return box, sorted(set(barcodes) - known)
