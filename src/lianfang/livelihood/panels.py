"""The livelihood section of the person page: the person's requests (by registry link)."""

from __future__ import annotations

from lianfang.livelihood.models import Request


def person_requests(*, person, actor) -> dict | None:
    requests = list(Request.objects.visible_to(actor).filter(person=person).order_by("-filed_at")[:20])
    return {"requests": requests} if requests else None
