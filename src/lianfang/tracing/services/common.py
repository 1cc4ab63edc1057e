"""What the tracing writes share: reading a table's columns, times, ID checks, locating a row."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa

from lianfang.core import codes
from lianfang.core.errors import Refused
from lianfang.core.times import parse_time
from lianfang.geo.models import Division, Level
from lianfang.people.models import Person
from lianfang.people.normalize import normalize_id_type
from lianfang.people.services import ids_validate


class TracingError(Refused):
    """A tracing write refused, with its message in Chinese and English."""


class NotFound(TracingError):
    def __init__(self):
        super().__init__("not_found", "不存在（或不在您的辖区内）", "not found (or not in your jurisdiction)")


def column(table: pa.Table, name: str) -> list[str]:
    """A column as trimmed text ("" where absent or empty)."""
    if name not in table.column_names:
        return [""] * table.num_rows
    return [("" if v is None else str(v)).strip() for v in table.column(name).to_pylist()]


def id_checks(id_types: list[str], id_numbers: list[str], *, today: dt.date):
    """(normalised types, upper-cased numbers, bad type mask, bad number mask) as in persons."""
    types, numbers, bad_type, bad_number = ids_validate(
        np.asarray(id_types, dtype=object), np.asarray(id_numbers, dtype=object), today=today
    )
    return list(types), list(numbers), list(bad_type), list(bad_number)


def normalize_id(id_type: str, id_number: str) -> tuple[str | None, str]:
    return normalize_id_type(id_type or ""), (id_number or "").strip().upper()


def parse_date(text: str) -> dt.date | None | bool:
    """``YYYY-MM-DD`` → a date; "" → None; anything else → False."""
    if not text:
        return None
    if len(text) != 10:
        return False
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return False


def parse_optional_time(text: str) -> dt.datetime | None | bool:
    """ "" → None; a time → it; anything else → False."""
    if not text:
        return None
    parsed = parse_time(text)
    return False if parsed is None else parsed


def chunks(values, size: int = 5000):
    """``values`` sorted, in lists of at most ``size`` (IN lists stay under SQLite's variable cap)."""
    values = sorted(values)
    for start in range(0, len(values), size):
        yield values[start : start + size]


def communities(code_list) -> dict[str, Division]:
    wanted = {c for c in code_list if c}
    return {
        d.code: d
        for chunk in chunks(wanted)
        for d in Division.objects.filter(code__in=chunk, level=Level.COMMUNITY)
    }


def registry(keys) -> dict[str, Person]:
    """ID number → a registry person (matching is by ID number, FORMATS.md)."""
    numbers = {n for _, n in keys if n}
    found: dict[str, Person] = {}
    for chunk in chunks(numbers):
        for person in Person.objects.filter(id_number__in=chunk).select_related("community").order_by("-id"):
            found.setdefault(person.id_number, person)
    return found


def located(community: Division | None) -> dict:
    """The located columns of a row in ``community`` (blank when unknown)."""
    if community is None:
        return {"community": None, "town_code": "", "county_code": ""}
    return {
        "community": community,
        "town_code": codes.town(community.code),
        "county_code": codes.county(community.code),
    }


_TRACING_LOCK = 7_240_412  # pg advisory lock key of the tracing writes (cases, contacts)


def writes_lock() -> None:
    """Serialise the tracing writes inside the caller's transaction: two imports of the same
    file at once must give one ``accepted`` and one ``duplicate``, not a unique-key error. On
    PostgreSQL an advisory transaction lock; SQLite's writers are serialised already."""
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_TRACING_LOCK])


def insert_rows(model, rows: list[dict]) -> None:
    """New rows of ``model`` in bulk (``core.db.bulk_insert``: executemany on SQLite, COPY on
    PostgreSQL): ``rows`` by attribute name (``case_id``), a missing one its field's default
    (``auto_now``/``auto_now_add``: now); times as the database stores them. In a transaction."""
    from django.db import connection, models
    from django.utils import timezone

    from lianfang.core.db import bulk_insert

    if not rows:
        return
    now = timezone.now()
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    sqlite = connection.vendor == "sqlite"

    def converter(field):
        if isinstance(field, models.DateTimeField) and sqlite:
            return connection.ops.adapt_datetimefield_value
        if isinstance(field, models.DateField) and sqlite:
            return connection.ops.adapt_datefield_value
        return None

    plan = []
    for field in fields:
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            default = now
        else:
            default = field.get_default()
        plan.append((field.attname, default, converter(field)))

    def prepared(row: dict):
        out = []
        for name, default, convert in plan:
            value = row.get(name, default)
            out.append(convert(value) if convert is not None and value is not None else value)
        return out

    bulk_insert(model._meta.db_table, [f.column for f in fields], (prepared(r) for r in rows))
