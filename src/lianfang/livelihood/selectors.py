"""The reads of the livelihood pages, each taking the actor."""

from __future__ import annotations

import datetime as dt

from django.db.models import Case, Count, IntegerField, Q, QuerySet, Value, When

from lianfang.accounts.roles import Role
from lianfang.accounts.scoping import Actor
from lianfang.core.facts import Overdue
from lianfang.livelihood.models import OPEN_STATUSES, Request, Status, Urgency


def _urgency_rank():
    return Case(
        When(urgency=Urgency.URGENT, then=Value(0)),
        When(urgency=Urgency.PRIORITY, then=Value(1)),
        default=Value(2),
        output_field=IntegerField(),
    )


def requests_visible(*, actor: Actor) -> QuerySet[Request]:
    """The requests the actor may see: their jurisdiction's; a volunteer only those assigned to them."""
    qs = Request.objects.visible_to(actor)
    if actor.role == Role.VOLUNTEER:
        qs = qs.filter(assigned_to_id=getattr(actor.user, "pk", None))
    return qs


def board(*, actor: Actor, status: str = "open", kind: str = "", limit: int = 50) -> list[Request]:
    """The request board: open requests (or one status), most urgent first, then the earliest due;
    one query, the first ``limit`` (a district's day holds thousands: the counts above the list
    and the filters say how many more there are)."""
    qs = requests_visible(actor=actor).select_related("community", "package", "assigned_to")
    qs = qs.filter(status__in=OPEN_STATUSES) if status == "open" else qs.filter(status=status)
    if kind:
        qs = qs.filter(kind=kind)
    return list(qs.annotate(rank=_urgency_rank()).order_by("rank", "accept_due_at", "pk")[:limit])


def board_counts(*, actor: Actor, now: dt.datetime) -> dict:
    """Open requests by urgency and how many are late to accept, in one aggregate."""
    return requests_visible(actor=actor).aggregate(
        open=Count("pk", filter=Q(status__in=OPEN_STATUSES)),
        urgent=Count("pk", filter=Q(status__in=OPEN_STATUSES, urgency=Urgency.URGENT)),
        late=Count("pk", filter=Q(status=Status.NEW, accept_due_at__lt=now)),
        escalated=Count("pk", filter=Q(status=Status.NEW, escalated_at__isnull=False)),
    )


def batches(*, actor: Actor, limit: int = 50) -> list[dict]:
    """Open requests per building (a batch one deliverer carries), the largest first."""
    return list(
        requests_visible(actor=actor)
        .filter(status__in=(Status.NEW, Status.ACCEPTED))
        .values("community_id", "community__name", "building")
        .annotate(count=Count("pk"), urgent=Count("pk", filter=Q(urgency=Urgency.URGENT)))
        .order_by("-urgent", "-count", "community_id", "building")[:limit]
    )


def request_get(*, actor: Actor, pk: int) -> Request | None:
    return (
        requests_visible(actor=actor)
        .select_related("community", "package", "assigned_to")
        .filter(pk=pk)
        .first()
    )


def overdue(actor: Actor, at: dt.datetime | None = None) -> list[Overdue]:
    """``"overdue.livelihood"``: requests not accepted, or not delivered, past their minutes."""
    from django.urls import reverse
    from django.utils import timezone

    at = at or timezone.now()
    late = (requests_visible(actor=actor) if actor is not None else Request.objects.dangerously_all()).filter(
        Q(status=Status.NEW, accept_due_at__lt=at) | Q(status__in=OPEN_STATUSES, deliver_due_at__lt=at)
    )
    out = []
    for r in late.order_by("accept_due_at")[:500]:
        not_accepted = r.status == Status.NEW and r.accept_due_at < at
        out.append(
            Overdue(
                kind="request",
                label=f"{r.get_kind_display()} · {r.get_urgency_display()} · {r.community_id} {r.building}".strip(),
                division_code=r.community_id,
                due_at=r.accept_due_at if not_accepted else r.deliver_due_at,
                url=reverse("livelihood:request", args=[r.pk]),
                ref=f"request:{r.pk}",
            )
        )
    return out


def requests_in_area(actor: Actor, communities, at: dt.datetime | None = None) -> dict:
    """``"requests_in_area"``: open requests of these communities (a list or a subquery of codes)
    the actor sees, how many urgent and how many late to accept, for another app's page (a zone's)."""
    from django.utils import timezone

    at = at or timezone.now()
    return (
        requests_visible(actor=actor)
        .filter(community_id__in=communities)
        .aggregate(
            open=Count("pk", filter=Q(status__in=OPEN_STATUSES)),
            urgent=Count("pk", filter=Q(status__in=OPEN_STATUSES, urgency=Urgency.URGENT)),
            late=Count("pk", filter=Q(status=Status.NEW, accept_due_at__lt=at)),
        )
    )
