"""Door visits (入户走访): a grid worker records knocking on the door of a person on a round's
untested list. Visits are history: each is a new row, none is changed or removed."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from lianfang.accounts.scoping import Actor
from lianfang.accounts.services import audit_record
from lianfang.core import codes
from lianfang.people.models import Person
from lianfang.screening.models import DoorVisit, Round, VisitOutcome
from lianfang.screening.services.errors import NotFound, ScreeningError, require, require_covers

NOTE_MAX = DoorVisit._meta.get_field("note").max_length


def _unknown_person() -> NotFound:
    return NotFound(
        "unknown_person", "人员不存在（或不在您的辖区内）", "unknown person (or not in your jurisdiction)"
    )


@transaction.atomic
def door_visit_record(
    *, actor: Actor | None, rnd: Round, person_id: int, outcome: str, note: str = ""
) -> DoorVisit:
    """Record a visit, now, to ``person_id``, untested in the open round ``rnd``.

    The actor needs ``visit.record`` and authority over the person's community; the person must
    be on the round's untested list (registered, inside the round's area, not exempt, without a
    screening sample in it). ``actor`` None is the server's authority.
    """
    from lianfang.screening.selectors.areas import untested_people

    require(actor, "visit.record")
    outcome = (outcome or "").strip()
    if outcome not in VisitOutcome.values:
        allowed_zh = "、".join(str(label) for label in VisitOutcome.labels)
        raise ScreeningError(
            "bad_outcome",
            f"走访结果无效：{outcome or '（空）'}，须为 {allowed_zh} 之一",
            f"unknown visit outcome: {outcome or '(empty)'}; one of {', '.join(VisitOutcome.values)}",
        )
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        raise ScreeningError(
            "bad_note", f"备注不超过 {NOTE_MAX} 个字", f"the note is at most {NOTE_MAX} characters"
        )
    # Locked: a round closing meanwhile takes no more visits.
    rnd = Round.objects.select_for_update().get(pk=rnd.pk)
    if not rnd.is_open:
        raise ScreeningError(
            "round_closed", "轮次已结束，不再登记走访", "the round is closed: no more visits"
        )
    reader = actor if actor is not None else Actor(user=None, role="", codes=tuple(rnd.scope))
    try:
        person = Person.objects.visible_to(reader).filter(pk=int(person_id)).first()
    except (TypeError, ValueError):
        person = None
    if person is None:
        raise _unknown_person()
    require_covers(
        actor, [person.community_id] if person.community_id else [], what_zh="该人员", what_en="this person"
    )
    if (
        not person.community_id
        or not untested_people(rnd=rnd, actor=reader, code=person.community_id).filter(pk=person.pk).exists()
    ):
        raise ScreeningError(
            "not_untested",
            f"该人员不在轮次 {rnd.code} 的未检名单中（已采样、豁免或不在轮次范围内）",
            f"this person is not on round {rnd.code}'s untested list (sampled, exempt or outside the round)",
        )
    visit = DoorVisit.objects.create(
        round=rnd,
        person=person,
        community_id=person.community_id,
        town_code=codes.town(person.community_id),
        county_code=codes.county(person.community_id),
        visited_at=timezone.now(),
        by=actor.user if actor is not None else None,
        outcome=outcome,
        note=note,
    )
    audit_record(
        actor=actor,
        action="create",
        object_type="door_visit",
        object_id=visit.pk,
        detail={"round": rnd.code, "person": person.pk, "outcome": outcome},
    )
    return visit
