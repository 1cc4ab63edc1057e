"""People sampled who are not in the registry."""

from __future__ import annotations

import datetime as dt

from django.db import connection

from lianfang.people.models import Person
from lianfang.people.normalize import name_pinyin


def _persons_create_unregistered(cursor, missing: list[tuple], now: dt.datetime) -> None:
    """People sampled but not in the registry: created as unregistered (name from their first row)."""
    seen: dict[tuple[str, str], str] = {}
    for id_type, id_number, name in missing:
        key = (id_type, id_number)
        if key not in seen or (not seen[key] and name):
            seen[key] = name or ""
    rows = []
    for (id_type, id_number), name in seen.items():
        full, initials = name_pinyin(name)
        birth, sex = None, ""
        if id_type == "resident_id":
            birth = dt.date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))
            sex = "M" if int(id_number[16]) % 2 else "F"
        rows.append(
            (
                id_type,
                id_number,
                id_number[::-1],
                name,
                full,
                initials,
                "",
                "",
                None,
                "",
                "",
                "",
                "",
                birth,
                sex,
                "",
                False,
                now,
                now,
            )
        )
    from lianfang.people.services import INSERT_COLUMNS

    qn = connection.ops.quote_name
    marks = ", ".join(["%s"] * len(INSERT_COLUMNS))
    cursor.executemany(
        f"INSERT INTO {qn(Person._meta.db_table)} ({', '.join(qn(c) for c in INSERT_COLUMNS)}) VALUES ({marks}) "
        "ON CONFLICT (id_type, id_number) DO NOTHING",
        rows,
    )
