"""Cases: ``cases_import`` (cases.csv, FORMATS.md "Tracing"), ``case_create`` (a form),
``case_place`` (a clinician confirms or overrides the protocol's placement).

Every new case opens its trace task (``tasks.trace_task_open``) and gets the protocol's placement
proposal, under the edition in force, which the case keeps.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
from django.db import transaction
from django.utils import timezone

from lianfang import protocol
from lianfang.accounts.scoping import Actor, require
from lianfang.accounts.services import audit_bulk, audit_record
from lianfang.core.fields import CODE, TIME, Column, parsed, screened, stored
from lianfang.core.summary import ImportSummary
from lianfang.edition.services import in_force
from lianfang.people.models import Person, Tag
from lianfang.people.normalize import normalize_phone
from lianfang.tracing import rules
from lianfang.tracing.models import Case, CaseConversion, Classification, Placement, Source, TraceTask
from lianfang.tracing.services.common import (
    NotFound,
    TracingError,
    chunks,
    column,
    communities,
    id_checks,
    located,
    parse_date,
    parse_optional_time,
    registry,
    writes_lock,
)
from lianfang.tracing.services.tasks import trace_task_new

REQUIRED = (
    "case_code",
    "id_number",
    "name",
    "classification",
    "first_positive_sampled_at",
    "reported_at",
    "found_in",
)
# The stored fields a row may change, in the order an update compares them.
FIELDS = (
    "id_type",
    "id_number",
    "name",
    "phone",
    "classification_at_report",
    "confirmed_at",
    "onset_date",
    "first_positive_sampled_at",
    "reported_at",
    "found_in",
    "severity",
    "community_code",
)
OPTIONAL = frozenset({"phone", "onset_date", "severity", "community_code", "confirmed_at"})


def import_columns() -> dict[str, Column]:
    case = Case._meta.get_field
    return {
        "case_code": stored(case("case_code"), CODE),
        "id_type": stored(case("id_type")),
        "id_number": stored(case("id_number"), CODE),
        "name": stored(case("name")),
        "phone": stored(case("phone"), CODE),
        "classification": parsed(),
        "onset_date": parsed(TIME),
        "first_positive_sampled_at": parsed(TIME),
        "reported_at": parsed(TIME),
        "found_in": parsed(),
        "severity": parsed(),
        "community_code": stored(case("community_code"), CODE),
        "confirmed_at": parsed(TIME),
    }


@dataclass
class _Decided:
    values: dict  # the row's fields (FIELDS), "" / None where the row left them blank
    confirmed_without_time: bool  # a confirmed row without confirmed_at


def _decide(table: pa.Table, today: dt.date) -> tuple[list[str], list[_Decided | None], list[str]]:
    """Per row: the rejection reason ("" when none), the parsed values, the case code."""
    n = table.num_rows
    cols = {name: column(table, name) for name in (*REQUIRED, *import_columns())}
    reasons = [""] * n
    for i in range(n):
        for name in REQUIRED:
            if not cols[name][i]:
                reasons[i] = f"missing_field:{name}"
                break
    types, numbers, bad_type, bad_number = id_checks(cols["id_type"], cols["id_number"], today=today)
    decided: list[_Decided | None] = [None] * n
    for i in range(n):
        if reasons[i]:
            continue
        if bad_type[i]:
            reasons[i] = "bad_id_type"
            continue
        if bad_number[i]:
            reasons[i] = "invalid_id_number"
            continue
        classification = rules.enum(rules.CLASSIFICATIONS, cols["classification"][i])
        if classification is None:
            reasons[i] = "bad_classification"
            continue
        found_in = rules.enum(rules.FOUND_IN, cols["found_in"][i])
        if found_in is None:
            reasons[i] = "bad_found_in"
            continue
        severity = ""
        if cols["severity"][i]:
            severity = rules.enum(rules.SEVERITY, cols["severity"][i])
            if severity is None:
                reasons[i] = "bad_severity"
                continue
        sampled = parse_optional_time(cols["first_positive_sampled_at"][i])
        reported = parse_optional_time(cols["reported_at"][i])
        onset = parse_date(cols["onset_date"][i])
        # confirmed_at is read only on a confirmed row.
        confirmed_at = (
            parse_optional_time(cols["confirmed_at"][i])
            if classification == Classification.CONFIRMED
            else None
        )
        if sampled is False or reported is False or onset is False or confirmed_at is False:
            reasons[i] = "bad_time"
            continue
        at_report = classification
        if classification == Classification.CONFIRMED and confirmed_at is not None:
            at_report = Classification.ASYMPTOMATIC  # reported asymptomatic, confirmed later
        decided[i] = _Decided(
            values={
                "id_type": types[i],
                "id_number": numbers[i],
                "name": cols["name"][i],
                "phone": normalize_phone(cols["phone"][i]),
                "classification_at_report": at_report,
                "confirmed_at": confirmed_at,
                "onset_date": onset,
                "first_positive_sampled_at": sampled,
                "reported_at": reported,
                "found_in": found_in,
                "severity": severity,
                "community_code": cols["community_code"][i],
            },
            confirmed_without_time=classification == Classification.CONFIRMED and confirmed_at is None,
        )
    return reasons, decided, cols["case_code"]


def _state(case: Case) -> dict:
    return {name: getattr(case, name) for name in FIELDS}


def _apply(current: dict | None, row: _Decided) -> dict | str:
    """The state after ``row`` (blank optional fields leave the stored value), or a reason."""
    values = dict(row.values)
    if current is None:
        return values
    if row.confirmed_without_time:
        if (
            current["classification_at_report"] == Classification.ASYMPTOMATIC
            and current["confirmed_at"] is None
        ):
            return "missing_field:confirmed_at"  # a conversion must carry its time
        # already confirmed (at report, or converted): nothing about the classification changes
        values["classification_at_report"] = current["classification_at_report"]
    if (
        row.values["classification_at_report"] == Classification.ASYMPTOMATIC
        and not row.values["confirmed_at"]
    ):
        values["confirmed_at"] = current["confirmed_at"]  # an asymptomatic row does not undo a conversion
    new = dict(current)
    for name in FIELDS:
        value = values[name]
        if name in OPTIONAL and value in ("", None):
            continue
        new[name] = value
    return new


@screened(import_columns)
def cases_import(
    *, table: pa.Table, actor: Actor | None, source: str = "", progress=None, today: dt.date | None = None
) -> tuple[ImportSummary, np.ndarray]:
    """Import cases.csv. ``actor`` None is the server's authority; another needs ``cases.import``
    and authority over the case's community (else ``out_of_jurisdiction``)."""
    require(actor, "cases.import")
    n = table.num_rows
    summary = ImportSummary(read=n)
    today = today or timezone.localdate()
    if progress:
        progress(0, n)
    reasons, decided, case_codes = _decide(table, today)
    outcomes = np.array(reasons, dtype=object)
    with transaction.atomic():
        writes_lock()
        wanted = [case_codes[i] for i in range(n) if decided[i] is not None]
        stored_cases = {
            c.case_code: c for chunk in chunks(wanted) for c in Case.objects.filter(case_code__in=chunk)
        }
        tree = communities(d.values["community_code"] for d in decided if d is not None)
        people = registry((d.values["id_type"], d.values["id_number"]) for d in decided if d is not None)
        states: dict[str, dict] = {code: _state(case) for code, case in stored_cases.items()}
        first: dict[str, dict] = dict(states)  # as stored before this file
        edition = in_force()
        for i in range(n):
            row = decided[i]
            if row is None:
                continue
            code = case_codes[i]
            current = states.get(code)
            after = _apply(current, row)
            if isinstance(after, str):
                outcomes[i] = after
                continue
            where = _community_of(after, tree, people)
            if actor is not None and not (where is not None and actor.covers(where.code)):
                outcomes[i] = "out_of_jurisdiction"
                continue
            if code in stored_cases and not (actor is None or _visible(stored_cases[code], actor)):
                outcomes[i] = "out_of_jurisdiction"
                continue
            if current is not None and after == current:
                outcomes[i] = "duplicate"
                continue
            states[code] = after
            outcomes[i] = "accepted"
        changed = [code for code in states if states[code] != first.get(code)]
        audits, new = [], []
        for code in changed:
            after = states[code]
            case = stored_cases.get(code)
            if case is None:
                new.append(
                    _case_build(
                        code=code, values=after, tree=tree, people=people, source=Source.FILE, edition=edition
                    )
                )
            else:
                before = first[code]
                _case_update(case=case, values=after, tree=tree, people=people)
                audits.append(
                    (
                        code,
                        {"fields": sorted(f for f in FIELDS if before[f] != after[f])},
                    )
                )
        _cases_save(new, edition)
        summary.accepted = int((outcomes == "accepted").sum())
        summary.duplicate = int((outcomes == "duplicate").sum())
        for reason in outcomes[~np.isin(outcomes.astype(str), ["accepted", "duplicate"])]:
            summary.reject(str(reason))
        summary.created = len(changed) - len(audits)
        summary.updated = len(audits)
        if audits:
            audit_bulk(actor=actor, action="update", object_type="case", items=audits)
        audit_record(
            actor=actor,
            action="import",
            object_type="cases",
            object_id=source[:64],
            detail={
                "source": source,
                **summary.as_dict(),
                "created": summary.created,
                "updated": summary.updated,
            },
        )
    if progress:
        progress(n, n)
    assert summary.balanced, summary
    return summary, outcomes


def _visible(case: Case, actor: Actor) -> bool:
    return Case.objects.visible_to(actor).filter(pk=case.pk).exists()


def _community_of(values: dict, tree: dict, people: dict):
    reported = tree.get(values["community_code"])
    if reported is not None:
        return reported
    person = people.get(values["id_number"])
    return person.community if person is not None else None


def _age(person: Person | None, id_type: str, id_number: str, on: dt.date) -> int | None:
    born = person.birth_date if person is not None else None
    if born is None and id_type == "resident_id" and len(id_number) == 18:
        try:
            born = dt.date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))
        except ValueError:
            born = None
    if born is None:
        return None
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


# Registry tags that are among the protocol's high-risk conditions (a proposal only: the clinician decides).
_TAG_CONDITIONS = {Tag.PREGNANT: "late_pregnancy", Tag.DIALYSIS: "chronic_disease"}


def placement_proposal(case: Case, edition: protocol.Protocol, person: Person | None = None) -> str:
    """The protocol's placement (``protocol.placement``): designated hospital or 方舱."""
    person = person if person is not None else case.person
    tags = person.tag_list if person is not None else []
    conditions = [_TAG_CONDITIONS[t] for t in tags if t in _TAG_CONDITIONS]
    age = _age(person, case.id_type, case.id_number, timezone.localdate(case.reported_at))
    return protocol.placement(edition, age=age, conditions=conditions, severity=case.severity or None)


def _person_for(values: dict, people: dict) -> Person | None:
    person = people.get(values["id_number"])
    if person is not None and person.id_type == values["id_type"]:
        return person
    return None


def _case_build(*, code, values, tree, people, source, edition, finding_id=None) -> Case:
    """A new case (not saved) with the protocol's placement proposal."""
    person = _person_for(values, people)
    case = Case(
        case_code=code,
        person=person,
        source=source,
        edition=edition.code,
        finding_id=finding_id,
        **{
            k: ("" if values[k] is None and k in ("severity", "phone", "community_code") else values[k])
            for k in FIELDS
        },
        **located(_community_of(values, tree, people)),
    )
    case.placement_proposed = placement_proposal(case, edition, person)
    return case


def _cases_save(cases: list[Case], edition) -> None:
    """New cases in bulk, each with its conversion (if reported converted) and its trace task."""
    if not cases:
        return
    Case.objects.bulk_create(cases, batch_size=1000)
    codes = [c.case_code for c in cases]
    saved = {c.case_code: c for chunk in chunks(codes) for c in Case.objects.filter(case_code__in=chunk)}
    CaseConversion.objects.bulk_create(
        [
            CaseConversion(case=saved[c.case_code], converted_at=c.confirmed_at)
            for c in cases
            if c.confirmed_at
        ],
        batch_size=1000,
    )
    TraceTask.objects.bulk_create(
        [trace_task_new(case=saved[code], edition=edition) for code in codes], batch_size=1000
    )


def _case_write(*, code, values, tree, people, source, edition, actor, finding_id=None) -> Case:
    case = _case_build(
        code=code,
        values=values,
        tree=tree,
        people=people,
        source=source,
        edition=edition,
        finding_id=finding_id,
    )
    _cases_save([case], edition)
    return Case.objects.get(case_code=code)


def _case_update(*, case: Case, values: dict, tree, people) -> None:
    converted = values["confirmed_at"] != case.confirmed_at and values["confirmed_at"] is not None
    for name in FIELDS:
        setattr(case, name, values[name])
    case.person = _person_for(values, people)
    for name, value in located(_community_of(values, tree, people)).items():
        setattr(case, name, value)
    case.placement_proposed = placement_proposal(case, protocol.edition(case.edition), case.person)
    case.save()
    if converted:
        CaseConversion.objects.create(case=case, converted_at=case.confirmed_at)


@transaction.atomic
def case_create(
    *, actor: Actor | None, fields: dict[str, str], source: str = Source.FORM, finding_id=None
) -> Case:
    """One case from a form (or the screening hand-off): the same rules as a cases.csv row; a
    reason refuses it with its bilingual text. A known ``case_code`` is refused (``code_taken``)."""
    from lianfang.core.summary import reason_text

    require(actor, "cases.create")
    writes_lock()
    table = pa.table({k: [str(v or "")] for k, v in fields.items()})
    reasons, decided, codes = _decide(table, timezone.localdate())
    if reasons[0]:
        zh, en = reason_text(reasons[0])
        raise TracingError(reasons[0], zh, en)
    code = codes[0]
    if Case.objects.filter(case_code=code).exists():
        raise TracingError("case_code_taken", "病例编号已被占用", "the case code is taken")
    values = _apply(None, decided[0])
    tree = communities([values["community_code"]])
    people = registry([(values["id_type"], values["id_number"])])
    where = _community_of(values, tree, people)
    if actor is not None and not (where is not None and actor.covers(where.code)):
        zh, en = reason_text("out_of_jurisdiction")
        raise TracingError("out_of_jurisdiction", zh, en)
    case = _case_write(
        code=code,
        values=values,
        tree=tree,
        people=people,
        source=source,
        edition=in_force(),
        actor=actor,
        finding_id=finding_id,
    )
    audit_record(
        actor=actor, action="create", object_type="case", object_id=case.case_code, detail={"source": source}
    )
    return case


@transaction.atomic
def case_place(*, actor: Actor | None, case: Case, placement: str, reason: str = "") -> Case:
    """A clinician's decision: the proposal confirmed, or overridden with a reason."""
    require(actor, "case.place")
    case = Case.objects.select_for_update().get(pk=case.pk)
    if actor is not None and not Case.objects.visible_to(actor).filter(pk=case.pk).exists():
        raise NotFound()
    if placement not in Placement.values:
        raise TracingError(
            "bad_placement",
            "收治去向须为方舱医院或定点医院",
            "placement must be fangcang or designated hospital",
        )
    reason = (reason or "").strip()
    if placement != case.placement_proposed and not reason:
        raise TracingError(
            "reason_required",
            "改变建议的收治去向须写明理由",
            "give the reason for overriding the proposed placement",
        )
    case.placement, case.placement_reason = placement, reason[:500]
    case.placement_by = actor.user if actor is not None else None
    case.placement_at = timezone.now()
    case.save(update_fields=["placement", "placement_reason", "placement_by", "placement_at", "updated_at"])
    audit_record(
        actor=actor,
        action="update",
        object_type="case",
        object_id=case.case_code,
        detail={"placement": placement, "proposed": case.placement_proposed, "reason": reason[:200]},
    )
    return case
