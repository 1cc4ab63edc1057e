"""The tracing contract's rules as plain functions (FORMATS.md "Tracing"), without Django.

- ``CLASSIFICATIONS`` … : enum values in English or Chinese → the code (trimmed, case-insensitive).
- ``merge(rows)``: a person listed more than once, merged by the contract's rule.
- ``plans(contacts, cases)``: the rows of ``lianfang trace plans`` (upgrade, cases excluded, the
  late rule, each plan under the edition it was made under).

The same functions serve the stored merged contact, the plans report and the facts at a time T
(``cases_as_of``, ``plans_as_of``): rows registered and cases reported after T are simply not
passed in.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, replace

from lianfang import protocol

CLASSIFICATIONS = {
    "confirmed": "confirmed",
    "确诊": "confirmed",
    "asymptomatic": "asymptomatic",
    "无症状": "asymptomatic",
}
FOUND_IN = {
    "quarantine": "quarantine",
    "controlled_area": "controlled_area",
    "screening": "screening",
    "clinic": "clinic",
    "other": "other",
    # Chinese labels (the pages' own words and the usual ones of a CDC report)
    "隔离": "quarantine",
    "隔离中": "quarantine",
    "隔离中发现": "quarantine",
    "集中隔离": "quarantine",
    "居家隔离": "quarantine",
    "管控区": "controlled_area",
    "封控区": "controlled_area",
    "管控区内发现": "controlled_area",
    "封控管控区": "controlled_area",
    "筛查": "screening",
    "区域筛查": "screening",
    "区域筛查发现": "screening",
    "核酸筛查": "screening",
    "门诊": "clinic",
    "发热门诊": "clinic",
    "医院": "clinic",
    "发热门诊/医院发现": "clinic",
    "其他": "other",
}
SEVERITY = {
    "mild": "mild",
    "moderate": "moderate",
    "severe": "severe",
    "critical": "critical",
    "轻型": "mild",
    "普通型": "moderate",
    "重型": "severe",
    "危重型": "critical",
}
CATEGORY = {
    "close": "close",
    "secondary": "secondary",
    "companion": "companion",
    "venue": "venue",
    "general": "general",
    "密接": "close",
    "密切接触者": "close",
    "次密接": "secondary",
    "密接的密接": "secondary",
    "时空伴随": "companion",
    "时空伴随者": "companion",
    "场所暴露": "venue",
    "场所暴露者": "venue",
    "一般接触": "general",
    "一般接触者": "general",
}


def enum(table: dict[str, str], value: str) -> str | None:
    """An enum cell → its code: trimmed, English matched case-insensitively; None if unknown."""
    text = (value or "").strip()
    return table.get(text) or table.get(text.lower())


@dataclass(frozen=True, slots=True)
class Row:
    """One accepted contact row; ``order`` is its arrival order (later rows have larger ones)."""

    order: int
    case_code: str
    category: str
    id_type: str
    id_number: str
    name: str
    via_id_number: str
    phone: str
    community_code: str
    place: str
    last_exposure_at: dt.datetime
    registered_at: dt.datetime
    edition: str


# Taken from the row that gave the category; a blank one from the latest row that has it.
_CARRIED = ("case_code", "via_id_number", "name", "phone", "community_code", "place")


def merge(
    rows: Iterable[Row], strictness: tuple[str, ...] = protocol.CATEGORIES
) -> dict[tuple[str, str], Row]:
    """(id_type, id_number) → the merged row (FORMATS.md): the strictest category; the latest
    ``last_exposure_at`` among that category's rows; ``case_code``, ``via_id_number``, ``name``,
    ``phone``, ``community_code``, ``place`` and the edition of the row that gave it (the latest
    of that category: later exposure, then later row), a blank one taken from the latest row of
    any category that has it (same order); the earliest ``registered_at`` of all rows."""
    by_key: dict[tuple[str, str], list[Row]] = {}
    for row in rows:
        by_key.setdefault((row.id_type, row.id_number), []).append(row)
    rank = {category: i for i, category in enumerate(strictness)}
    merged: dict[tuple[str, str], Row] = {}
    for key, listed in by_key.items():
        listed.sort(key=lambda r: (r.last_exposure_at, r.order))
        strictest = min(rank[r.category] for r in listed)
        giver = [r for r in listed if rank[r.category] == strictest][-1]
        values = {}
        for name in _CARRIED:
            value = getattr(giver, name)
            if not value:
                value = next((getattr(r, name) for r in reversed(listed) if getattr(r, name)), "")
            values[name] = value
        merged[key] = replace(giver, registered_at=min(r.registered_at for r in listed), **values)
    return merged


@dataclass(frozen=True, slots=True)
class CaseKey:
    """What the plans need of a case: its code and report time, matched by ID number."""

    case_code: str
    id_number: str
    reported_at: dt.datetime


@dataclass(frozen=True, slots=True)
class PlanRow:
    contact: Row  # the merged contact (category and case_code after any upgrade)
    upgraded_at: dt.datetime | None
    plan: protocol.Plan


def cases_by_id(cases: Iterable[CaseKey]) -> dict[str, CaseKey]:
    """ID number → its case (the earliest reported, then the smallest code, if listed twice)."""
    found: dict[str, CaseKey] = {}
    for case in sorted(cases, key=lambda c: (c.reported_at, c.case_code), reverse=True):
        found[case.id_number] = case
    return found


def plans(contacts: Iterable[Row], cases: Iterable[CaseKey]) -> list[PlanRow]:
    """The plans report's rows, sorted by ``id_type, id_number``: every merged contact who is not
    a case (by ID number); a ``secondary`` whose ``via_id_number`` is a case's becomes ``close``
    with that case's code, ``upgraded_at`` = the later of its report and the contact's
    registration, the plan recomputed from the same exposure with ``upgraded_at`` for the late
    rule. Each plan follows the edition its row was made under."""
    by_id = cases_by_id(cases)
    out = []
    for contact in sorted(contacts, key=lambda c: (c.id_type, c.id_number)):
        if contact.id_number in by_id:
            continue  # a case: treatment takes over
        upgraded_at = None
        late_from = contact.registered_at
        source = by_id.get(contact.via_id_number) if contact.category == "secondary" else None
        if source is not None:
            upgraded_at = max(source.reported_at, contact.registered_at)
            late_from = upgraded_at
            contact = replace(contact, category="close", case_code=source.case_code)
        plan = protocol.contact_plan(
            protocol.edition(contact.edition), contact.category, contact.last_exposure_at, late_from
        )
        out.append(PlanRow(contact=contact, upgraded_at=upgraded_at, plan=plan))
    return out
