"""Contacts: ``contacts_import`` (contacts.csv, FORMATS.md "Tracing"), ``contact_add`` (a form).

Every accepted row is kept as it came (``ContactRow``, with the edition in force and its
registration time); the person's merged contact (``Contact``) is recomputed from all their rows
by ``rules.merge`` after each change.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
from django.db import transaction
from django.utils import timezone

from lianfang.accounts.scoping import Actor, require
from lianfang.accounts.services import audit_record
from lianfang.core.fields import CODE, TIME, Column, parsed, screened, stored
from lianfang.core.summary import ImportSummary
from lianfang.edition.services import in_force
from lianfang.people.normalize import normalize_phone
from lianfang.tracing import rules
from lianfang.tracing.models import Case, Contact, ContactRow, Source
from lianfang.tracing.services.common import (
    TracingError,
    chunks,
    column,
    communities,
    id_checks,
    insert_rows,
    located,
    parse_optional_time,
    registry,
    writes_lock,
)

REQUIRED = ("case_code", "category", "id_number", "name", "last_exposure_at")


def import_columns() -> dict[str, Column]:
    row = ContactRow._meta.get_field
    return {
        "case_code": stored(row("case_code"), CODE),
        "category": parsed(),
        "id_type": stored(row("id_type")),
        "id_number": stored(row("id_number"), CODE),
        "name": stored(row("name")),
        "via_id_number": stored(row("via_id_number"), CODE),
        "phone": stored(row("phone"), CODE),
        "community_code": stored(row("community_code"), CODE),
        "place": stored(row("place")),
        "last_exposure_at": parsed(TIME),
        "registered_at": parsed(TIME),
    }


def _key(values: dict) -> tuple:
    return (
        values["case_code"],
        values["category"],
        values["id_type"],
        values["id_number"],
        values["last_exposure_at"],
    )


@screened(import_columns)
def contacts_import(
    *,
    table: pa.Table,
    actor: Actor | None,
    source: str = "",
    progress=None,
    today: dt.date | None = None,
    now: dt.datetime | None = None,
    origin: str = Source.FILE,
) -> tuple[ImportSummary, np.ndarray]:
    """Import contacts.csv. ``actor`` None is the server's authority; another needs
    ``contacts.import``, and a case it cannot see is ``unknown_case``."""
    require(actor, "contacts.import")
    n = table.num_rows
    summary = ImportSummary(read=n)
    now = now or timezone.now()
    today = today or timezone.localdate(now)
    if progress:
        progress(0, n)
    cols = {name: column(table, name) for name in import_columns()}
    outcomes = np.full(n, "", dtype=object)
    for i in range(n):
        for name in REQUIRED:
            if not cols[name][i]:
                outcomes[i] = f"missing_field:{name}"
                break
    types, numbers, bad_type, bad_number = id_checks(cols["id_type"], cols["id_number"], today=today)
    cases = Case.objects.all() if actor is None else Case.objects.visible_to(actor)
    known = {
        c.case_code: c
        for chunk in chunks({cols["case_code"][i] for i in range(n) if not outcomes[i]})
        for c in cases.filter(case_code__in=chunk)
    }
    edition = in_force().code
    accepted: list[dict] = []
    with transaction.atomic():
        writes_lock()
        seen = {
            key
            for chunk in chunks(known)
            for key in ContactRow.objects.filter(case_code__in=chunk).values_list(
                "case_code", "category", "id_type", "id_number", "last_exposure_at"
            )
        }
        for i in range(n):
            if outcomes[i]:
                continue
            if bad_type[i]:
                outcomes[i] = "bad_id_type"
                continue
            if bad_number[i]:
                outcomes[i] = "invalid_id_number"
                continue
            case = known.get(cols["case_code"][i])
            if case is None:
                outcomes[i] = "unknown_case"
                continue
            category = rules.enum(rules.CATEGORY, cols["category"][i])
            if category is None:
                outcomes[i] = "bad_category"
                continue
            via = cols["via_id_number"][i].upper()
            if category == "secondary" and not via:
                outcomes[i] = "missing_via"
                continue
            exposure = parse_optional_time(cols["last_exposure_at"][i])
            registered = parse_optional_time(cols["registered_at"][i])
            if exposure is False or registered is False:
                outcomes[i] = "bad_time"
                continue
            values = {
                "case": case,
                "case_code": case.case_code,
                "category": category,
                "id_type": types[i],
                "id_number": numbers[i],
                "name": cols["name"][i],
                "via_id_number": via,
                "phone": normalize_phone(cols["phone"][i]),
                "community_code": cols["community_code"][i],
                "place": cols["place"][i],
                "last_exposure_at": exposure,
                "registered_at": registered or now,
                "edition": edition,
                "source": origin,
            }
            key = _key(values)
            if key in seen:
                outcomes[i] = "duplicate"
                continue
            seen.add(key)
            accepted.append(values)
            outcomes[i] = "accepted"
        insert_rows(
            ContactRow,
            [
                {**{k: v for k, v in row.items() if k != "case"}, "case_id": row["case"].pk}
                for row in accepted
            ],
        )
        touched = {(v["id_type"], v["id_number"]) for v in accepted}
        contacts_remerge(keys=touched)
        summary.accepted = len(accepted)
        summary.duplicate = int((outcomes == "duplicate").sum())
        for reason in outcomes[~np.isin(outcomes.astype(str), ["accepted", "duplicate"])]:
            summary.reject(str(reason))
        audit_record(
            actor=actor,
            action="import",
            object_type="contacts",
            object_id=source[:64],
            detail={"source": source, **summary.as_dict(), "people": len(touched)},
        )
    if progress:
        progress(n, n)
    assert summary.balanced, summary
    return summary, outcomes


def as_rule_row(row: ContactRow) -> rules.Row:
    return rules.Row(
        order=row.pk,
        case_code=row.case_code,
        category=row.category,
        id_type=row.id_type,
        id_number=row.id_number,
        name=row.name,
        via_id_number=row.via_id_number,
        phone=row.phone,
        community_code=row.community_code,
        place=row.place,
        last_exposure_at=row.last_exposure_at,
        registered_at=row.registered_at,
        edition=row.edition,
    )


def contacts_remerge(*, keys) -> None:
    """Recompute the stored merged contact of each (id_type, id_number) from all their rows."""
    keys = set(keys)
    if not keys:
        return
    numbers = {number for _, number in keys}
    rows = [
        as_rule_row(r)
        for r in ContactRow.objects.filter(id_number__in=numbers)
        if (r.id_type, r.id_number) in keys
    ]
    merged = rules.merge(rows)
    cases = {
        c.case_code: c
        for chunk in chunks({m.case_code for m in merged.values()})
        for c in Case.objects.filter(case_code__in=chunk)
    }
    tree = communities(m.community_code for m in merged.values())
    people = registry(merged)
    stored = {
        (c.id_type, c.id_number): c
        for chunk in chunks(numbers)
        for c in Contact.objects.filter(id_number__in=chunk)
    }
    creates, updates = [], []
    now = timezone.now()
    for key, m in merged.items():
        community = tree.get(m.community_code)
        if community is None and m.id_number in people:
            community = people[m.id_number].community
        values = {
            "name": m.name,
            "category": m.category,
            "case": cases[m.case_code],
            "via_id_number": m.via_id_number,
            "phone": m.phone,
            "community_code": m.community_code,
            "place": m.place,
            "last_exposure_at": m.last_exposure_at,
            "registered_at": m.registered_at,
            "edition": m.edition,
            "updated_at": now,
            **located(community),
        }
        contact = stored.get(key)
        if contact is None:
            creates.append(
                {
                    "id_type": key[0],
                    "id_number": key[1],
                    **{k: v for k, v in values.items() if k not in ("case", "community")},
                    "case_id": values["case"].pk,
                    "community_id": values["community"].pk if values["community"] is not None else None,
                }
            )
        else:
            for name, value in values.items():
                setattr(contact, name, value)
            updates.append(contact)
    insert_rows(Contact, creates)
    Contact.objects.bulk_update(updates, [*_MERGED_FIELDS], batch_size=1000)


_MERGED_FIELDS = (
    "name",
    "category",
    "case",
    "via_id_number",
    "phone",
    "community_code",
    "place",
    "last_exposure_at",
    "registered_at",
    "edition",
    "updated_at",
    "community",
    "town_code",
    "county_code",
)


@transaction.atomic
def contact_add(*, actor: Actor | None, case: Case, fields: dict[str, str]) -> Contact:
    """One contact of ``case`` from a tracer's form: the rules of a contacts.csv row."""
    from lianfang.core.summary import reason_text

    require(actor, "contacts.import")
    if actor is not None and not Case.objects.visible_to(actor).filter(pk=case.pk).exists():
        zh, en = reason_text("unknown_case")
        raise TracingError("unknown_case", zh, en)
    row = {k: str(v or "") for k, v in fields.items()}
    row["case_code"] = case.case_code
    summary, outcomes = contacts_import(
        table=pa.table({k: [v] for k, v in row.items()}), actor=actor, source="form", origin=Source.FORM
    )
    outcome = str(outcomes[0])
    if outcome not in ("accepted", "duplicate"):
        zh, en = reason_text(outcome)
        raise TracingError(outcome, zh, en)
    id_type = rules_id_type(row.get("id_type", ""))
    return Contact.objects.get(id_type=id_type, id_number=row["id_number"].strip().upper())


def rules_id_type(value: str) -> str:
    from lianfang.people.normalize import normalize_id_type

    return normalize_id_type(value) or "resident_id"


def contacts_confirm_companions(*, actor: Actor | None, rows) -> dict[str, str]:
    """The ``"contacts_confirm_companions"`` fact (core/facts.py): confirmed companions
    (``CompanionContact``) registered as contacts of category ``companion`` through
    :func:`contacts_import` — the rules, merge and plans of any contact; a row registered before is
    ``duplicate``, a case the actor has no authority over ``unknown_case``. Returns ref → outcome."""
    from lianfang.core.times import format_time

    rows = list(rows)
    if not rows:
        require(actor, "contacts.import")
        return {}
    table = pa.Table.from_pylist(
        [
            {
                "case_code": r.case_code,
                "category": "companion",
                "id_type": r.id_type,
                "id_number": r.id_number,
                "name": r.name,
                "via_id_number": "",
                "phone": r.phone,
                "community_code": r.community_code,
                "place": r.place[:200],
                "last_exposure_at": format_time(r.last_exposure_at),
                "registered_at": "",
            }
            for r in rows
        ]
    )
    _summary, outcomes = contacts_import(table=table, actor=actor, source="companions", origin=Source.FORM)
    return {r.ref: str(outcome) for r, outcome in zip(rows, outcomes, strict=True)}
