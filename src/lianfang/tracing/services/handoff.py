"""The screening hand-off: a positive single re-check (screening's ``PositiveFinding``) becomes a
case with one action by the CDC (``case.confirm``)."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from lianfang.accounts.scoping import Actor, require
from lianfang.screening.models import PositiveFinding
from lianfang.tracing.models import Case, Source
from lianfang.tracing.services.cases import case_create
from lianfang.tracing.services.common import NotFound, TracingError, writes_lock


def findings_awaiting(actor: Actor):
    """Positive findings not yet made cases, that ``actor`` may see."""
    return (
        PositiveFinding.objects.visible_to(actor)
        .filter(handed_over_at__isnull=True)
        .select_related("person", "round", "task")
        .order_by("reported_at")
    )


@transaction.atomic
def case_from_finding(
    *,
    actor: Actor | None,
    finding_id: int,
    case_code: str,
    classification: str,
    severity: str = "",
    onset_date: str = "",
) -> Case:
    """Confirm a positive finding into a case (found in area screening, reported now)."""
    require(actor, "case.confirm")
    writes_lock()
    findings = PositiveFinding.objects.all() if actor is None else PositiveFinding.objects.visible_to(actor)
    finding = findings.select_for_update().select_related("person").filter(pk=finding_id).first()
    if finding is None:
        raise NotFound()
    if finding.handed_over_at is not None or Case.objects.filter(finding_id=finding.pk).exists():
        raise TracingError("already_case", "该阳性人员已转为病例", "this positive finding is already a case")
    person = finding.person
    case = case_create(
        actor=actor,
        fields={
            "case_code": case_code,
            "id_type": person.id_type,
            "id_number": person.id_number,
            "name": person.name,
            "phone": person.phone,
            "classification": classification,
            "onset_date": onset_date,
            "first_positive_sampled_at": timezone.localtime(finding.sampled_at).isoformat(),
            "reported_at": timezone.localtime(timezone.now()).isoformat(),
            "found_in": "screening",
            "severity": severity,
            "community_code": person.community_id or "",
        },
        source=Source.SCREENING,
        finding_id=finding.pk,
    )
    finding.handed_over_at = timezone.now()
    finding.save(update_fields=["handed_over_at"])
    return case
