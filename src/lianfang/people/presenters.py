"""A person as shown to an actor: masked unless the actor's role needs the personal data."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator

from django.utils import timezone

from lianfang.accounts.masking import mask_address, mask_id_number, mask_phone
from lianfang.people.models import HEALTH_TAGS, HOME_SAMPLING_TAGS, IdType, Person, Sex, Tag

TAG_LABELS = {t.value: t.label for t in Tag}


def age_on(birth: dt.date | None, day: dt.date) -> int | None:
    if birth is None:
        return None
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def person_public(person: Person, actor, *, today: dt.date | None = None) -> dict:
    """The fields a page, export, API answer or drop-down may show this actor."""
    full = actor.sees_personal_data
    today = today or timezone.localdate()
    all_tags = person.tag_list
    # Health tags are sensitive: a masked role learns only that the person is sampled at home.
    tags = all_tags if full else [t for t in all_tags if t not in HEALTH_TAGS]
    return {
        "id": person.pk,
        "id_type": person.id_type,
        "id_type_label": str(IdType(person.id_type).label)
        if person.id_type in IdType.values
        else person.id_type,
        "id_number": person.id_number if full else mask_id_number(person.id_number),
        "name": person.name,
        "phone": person.phone if full else mask_phone(person.phone),
        "address": person.address if full else mask_address(person.address),
        "community_code": person.community_id or "",
        "community_name": person.community.name if person.community_id else "",
        "sex": str(Sex(person.sex).label) if person.sex in Sex.values else "",
        "birth_date": person.birth_date.isoformat() if person.birth_date and full else "",
        "age": age_on(person.birth_date, today),
        "household": person.household if full else "",
        "tags": tags,
        "tag_labels": [str(TAG_LABELS.get(t, t)) for t in tags],
        "home_sampling": any(t in HOME_SAMPLING_TAGS for t in all_tags),
        "registered": person.registered,
        "masked": not full,
    }


# The columns of FORMATS.md's untested.csv, and of a registry export.
PEOPLE_COLUMNS = ["community_code", "id_type", "id_number", "name", "phone", "address", "tags"]


def people_rows(people: Iterable, actor) -> Iterator[list[str]]:
    """One row per person in :data:`PEOPLE_COLUMNS`, masked as ``actor`` must see them (a
    generator: an export writes each row as it comes)."""
    for p in people:
        shown = person_public(p, actor)
        yield [
            shown["community_code"],
            p.id_type,
            shown["id_number"],
            p.name,
            shown["phone"],
            shown["address"],
            ";".join(shown["tags"]),
        ]
