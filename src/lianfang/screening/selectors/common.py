"""SQL helpers of the screening reads (both SQLite and PostgreSQL) and the site scoping rule."""

from __future__ import annotations

import datetime as dt

from django.db import connection
from django.db.models import Q

from lianfang.accounts.scoping import Actor, division_q
from lianfang.core import codes
from lianfang.screening.models import (
    TubePurpose,
)

SCREENING = TubePurpose.SCREENING


def _t(model) -> str:
    return model._meta.db_table


def _hour(column: str) -> str:
    """The UTC hour of a timestamp column as text ``YYYY-MM-DD HH`` (Shanghai is a whole +8 h)."""
    if connection.vendor == "postgresql":
        return f"to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24')"
    return f"substr({column}, 1, 13)"


def _minutes(later: str, earlier: str) -> str:
    if connection.vendor == "postgresql":
        return f"(EXTRACT(EPOCH FROM ({later} - {earlier})) / 60.0)"
    return f"((julianday({later}) - julianday({earlier})) * 1440.0)"


def _floor_int(expr: str) -> str:
    if connection.vendor == "postgresql":
        return f"CAST(FLOOR({expr}) AS INTEGER)"
    return f"CAST({expr} AS INTEGER)"  # only used on non-negative values: truncation is floor


def _hour_start(text: str) -> dt.datetime:
    return dt.datetime.strptime(text, "%Y-%m-%d %H").replace(tzinfo=dt.UTC)


def _rows(sql: str, params: list) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _ratio(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def _site_where(actor: Actor, alias: str = "st") -> tuple[str, list]:
    """SQL for "the site ``alias`` lies in the actor's jurisdiction" (:func:`lianfang.core.codes.where`)."""
    return codes.where(actor.codes, alias)


def _site_q(actor: Actor, prefix: str = "site__") -> Q:
    return division_q(
        actor.codes,
        county=f"{prefix}county_code",
        town=f"{prefix}town_code",
        community=f"{prefix}community_id",
    )
