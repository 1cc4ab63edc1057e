"""The one builder of a registry row for bulk writes (imports, unregistered people, the simulator).

Bulk paths write people with COPY / executemany in :data:`INSERT_COLUMNS` order, never through
the ORM; this is the only place that knows the order and the derived columns (reversed ID and
phone for suffix search, pinyin, the town and county of the community).
"""

from __future__ import annotations

import datetime as dt

from lianfang.core import codes
from lianfang.people import idnumbers
from lianfang.people.normalize import name_pinyin

INSERT_COLUMNS = (
    "id_type",
    "id_number",
    "id_number_rev",
    "name",
    "name_pinyin",
    "name_initials",
    "phone",
    "phone_rev",
    "community_id",
    "town_code",
    "county_code",
    "address",
    "household",
    "birth_date",
    "sex",
    "tags",
    "registered",
    "created_at",
    "updated_at",
)


def person_row(
    *,
    id_type: str,
    id_number: str,
    name: str,
    now: dt.datetime,
    phone: str = "",
    community_code: str | None = None,
    address: str = "",
    household: str = "",
    birth_date: dt.date | None = None,
    sex: str = "",
    tags: str = "",
    registered: bool = True,
    pinyin: tuple[str, str] | None = None,
) -> tuple:
    """A person as a tuple in :data:`INSERT_COLUMNS` order. A resident ID gives the birth date
    and sex when they are not given; ``pinyin`` may be passed when the caller caches it."""
    full, initials = pinyin or name_pinyin(name)
    if id_type == "resident_id" and (birth_date is None or not sex):
        birth_date = birth_date or idnumbers.birth_date(id_number)
        sex = sex or idnumbers.sex(id_number)
    return (
        id_type,
        id_number,
        id_number[::-1],
        name,
        full,
        initials,
        phone,
        phone[::-1],
        community_code or None,
        codes.town(community_code) if community_code else "",
        codes.county(community_code) if community_code else "",
        address,
        household,
        birth_date,
        sex,
        tags,
        registered,
        now,
        now,
    )
