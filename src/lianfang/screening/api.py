"""/api/v1/screening: sampling devices, labs and scripts.

Devices register scans as they happen: a whole tube with its members in one request, or one
request per scanned ID card (the way the 2022 city sampling apps worked), and upload their
buffer later when the network comes back (``/samples``: any order, any repetition). Every
request goes through the same importer as ``samples.csv`` and answers with the summary and one
outcome per row, so a device knows exactly what to resend: nothing is lost and nothing doubled.
A token bound to a site (or a lab) may only write for that site (lab).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterator
from contextlib import contextmanager

import pyarrow as pa
from django.db import connection
from django.http import Http404
from ninja import Field, Router, Schema
from ninja.errors import HttpError

from lianfang.accounts.scoping import Actor
from lianfang.core.db import loaded
from lianfang.core.fields import api_text, api_time
from lianfang.core.summary import reason_text
from lianfang.geo.models import Division
from lianfang.screening import rules, selectors, services
from lianfang.screening.models import Box, Device, Lab, RecheckTask, Round, Site, Tube

router = Router(tags=["screening"])

MAX_BATCH = 5000


# A service's refusal as an HTTP answer: its role check 403, an object not there (or not the
# actor's) 404; anything else the status the route gives.
_REFUSAL_STATUS = ((services.NotPermitted, 403), (services.NotFound, 404))


@contextmanager
def _refusals(status: int = 400) -> Iterator[None]:
    try:
        yield
    except services.ScreeningError as exc:
        code = next((s for kind, s in _REFUSAL_STATUS if isinstance(exc, kind)), status)
        raise HttpError(code, str(exc)) from exc


def _device(actor: Actor) -> Device | None:
    """The device the request's token is bound to, with its site's or lab's code, if any."""
    if "device" not in actor.extra:
        actor.extra["device"] = None if actor.token_id is None else _device_of_token(actor.token_id)
    return actor.extra["device"]


def _device_of_token(token_id: int) -> Device | None:
    binding = _device_binding(token_id)
    if binding is None:
        return None
    device_id, site_id, site_code, lab_id, lab_code = binding
    found = loaded(Device, id=device_id, token_id=token_id, site_id=site_id, lab_id=lab_id)
    found.site = None if site_id is None else loaded(Site, id=site_id, code=site_code)
    found.lab = None if lab_id is None else loaded(Lab, id=lab_id, code=lab_code)
    return found


@functools.lru_cache(maxsize=20_000)
def _device_binding(token_id: int) -> tuple | None:
    """(device id, site id, site code, lab id, lab code) of a token, remembered by the process.

    A device is bound once, when its token is issued, and never rebound; site and lab codes are
    their import keys and never change. The token itself is still checked on every request
    (revocation is immediate); a deleted site or lab makes its device's writes fail as unknown.
    This saves a query on every scan.
    """
    device, site, lab = Device._meta.db_table, Site._meta.db_table, Lab._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT d.id, d.site_id, s.code, d.lab_id, l.code FROM {device} d "
            f"LEFT JOIN {site} s ON s.id = d.site_id LEFT JOIN {lab} l ON l.id = d.lab_id WHERE d.token_id = %s",
            [token_id],
        )
        row = cursor.fetchone()
    return None if row is None else tuple(row)


# --- schemas ---------------------------------------------------------------------------------

# Fields that are stored or looked up as they are: no control characters (NUL among them) and at
# most their model field's length, else 422 with a bilingual message (lianfang.core.fields).
# The rows of a batch (tubes, scans, samples, results) are left to the importer's rule instead,
# which rejects just the broken row (too_long:<col>, bad_characters:<col>) and answers the others.
RoundCode = api_text(Round._meta.get_field("code"))
RoundName = api_text(Round._meta.get_field("name"))
PoolPolicyText = api_text(Round._meta.get_field("pool_policy"))
DivisionCode = api_text(Division._meta.get_field("code"))
SiteCode = api_text(Site._meta.get_field("code"))
LabCode = api_text(Lab._meta.get_field("code"))
BoxCode = api_text(Box._meta.get_field("code"))
Barcode = api_text(Tube._meta.get_field("barcode"))
Time = api_time()


class RoundIn(Schema):
    code: RoundCode
    name: RoundName = ""
    scope: list[DivisionCode]
    pool_policy: PoolPolicyText = "10"
    starts_at: Time | None = None
    deadline_at: Time | None = None


class RoundOut(Schema):
    code: str
    name: str
    scope: list[str]
    pool_policy: str
    status: str
    starts_at: dt.datetime
    deadline_at: dt.datetime


class Member(Schema):
    id_type: str = ""
    id_number: str
    name: str = ""
    collected_at: str


class TubeIn(Schema):
    round_code: str
    tube_barcode: str
    pool_size: int
    site_code: str = ""
    box_code: str = ""
    members: list[Member] = Field(..., min_length=1, max_length=20)


class ScanIn(Schema):
    round_code: str
    tube_barcode: str
    pool_size: int
    site_code: str = ""
    box_code: str = ""
    id_type: str = ""
    id_number: str
    name: str = ""
    collected_at: str


class SamplesIn(Schema):
    rows: list[ScanIn] = Field(..., min_length=1, max_length=MAX_BATCH)


class ResultRow(Schema):
    tube_barcode: str
    lab_code: str = ""
    result: str
    ct_orf1ab: str | float | None = None
    ct_n: str | float | None = None
    reported_at: str


class ResultsIn(Schema):
    rows: list[ResultRow] = Field(..., min_length=1, max_length=MAX_BATCH)


class RowOutcome(Schema):
    row: int
    outcome: str
    message: str = ""


class BatchOut(Schema):
    read: int
    accepted: int
    duplicate: int
    held: int
    rejected: int
    reasons: dict[str, int]
    rows: list[RowOutcome]


class BoxIn(Schema):
    box_code: BoxCode
    round_code: RoundCode
    site_code: SiteCode = ""
    lab_code: LabCode = ""
    tubes: list[Barcode] = Field(..., min_length=1, max_length=MAX_BATCH)
    handed_over_at: Time | None = None


class BoxOut(Schema):
    box_code: str
    tubes: int
    unknown_tubes: list[str]


class TaskSampleIn(Schema):
    tube_barcode: Barcode
    sampled_at: Time | None = None


class TaskOut(Schema):
    id: int
    kind: str
    reason: str
    status: str
    tube_barcode: str
    community_code: str
    due_sample_at: dt.datetime
    due_result_at: dt.datetime
    check_tube: str | None


# --- helpers ---------------------------------------------------------------------------------


def _batch_out(summary, outcomes) -> dict:
    rows = []
    for i, outcome in enumerate(outcomes):
        outcome = str(outcome)
        message = "" if outcome in ("accepted", "duplicate", "held") else " / ".join(reason_text(outcome))
        rows.append({"row": i, "outcome": outcome, "message": message})
    return {**summary.as_dict(), "rows": rows}


def _samples(actor: Actor, rows: list[dict]) -> dict:
    """Device rows → the samples importer. A site device's rows default to (and must be) its site."""
    device = _device(actor)
    if device is not None and device.site is not None:
        for row in rows:
            row["site_code"] = row["site_code"] or device.site.code
    table = pa.table(
        {c: pa.array([str(r.get(c, "") or "") for r in rows], pa.string()) for c in rules.SAMPLE_COLUMNS}
    )
    with _refusals():
        summary, outcomes = services.samples_import(
            table=table,
            actor=actor,
            source="api",
            site=device.site if device and device.site else None,
            live=True,
        )
    return _batch_out(summary, outcomes)


# --- rounds ----------------------------------------------------------------------------------


@router.get("/rounds", response=list[RoundOut])
def rounds(request):
    return list(selectors.rounds_visible(actor=request.auth))


@router.post("/rounds", response=RoundOut)
def round_create(request, body: RoundIn):
    actor: Actor = request.auth
    with _refusals(400):
        rnd = services.round_open(
            actor=actor,
            code=body.code,
            name=body.name,
            scope=body.scope,
            pool_policy=body.pool_policy,
            starts_at=body.starts_at,
            deadline_at=body.deadline_at,
        )
    return rnd


# --- samples ---------------------------------------------------------------------------------


@router.post("/tubes", response=BatchOut)
def tube_register(request, body: TubeIn):
    """One tube with its members (the desk scanned the tube, then each person)."""
    head = body.dict(exclude={"members"})
    return _samples(request.auth, [{**head, **m.dict()} for m in body.members])


@router.post("/scans", response=BatchOut)
def scan_register(request, body: ScanIn):
    """One person scanned into a tube."""
    return _samples(request.auth, [body.dict()])


@router.post("/samples", response=BatchOut)
def samples_upload(request, body: SamplesIn):
    """A device's buffered scans, uploaded late: order and repetition do not matter."""
    return _samples(request.auth, [r.dict() for r in body.rows])


@router.post("/boxes", response=BoxOut)
def box_handover(request, body: BoxIn):
    """Hand a sealed box over for transport: its tubes get the box code if they have none."""
    actor: Actor = request.auth
    device = _device(actor)
    with _refusals(409):
        box, unknown = services.box_handover(
            actor=actor,
            box_code=body.box_code,
            round_code=body.round_code,
            tubes=body.tubes,
            site_code=body.site_code,
            lab_code=body.lab_code,
            handed_over_at=body.handed_over_at,
            site=device.site if device and device.site else None,
        )
    return {"box_code": box.code, "tubes": box.tubes, "unknown_tubes": unknown}


# --- results ---------------------------------------------------------------------------------


@router.post("/results", response=BatchOut)
def results_upload(request, body: ResultsIn):
    """A lab's result batch; a lab device's rows default to (and must be) its lab."""
    actor: Actor = request.auth
    device = _device(actor)
    lab = device.lab if device and device.lab else None
    rows = [r.dict() for r in body.rows]
    if lab is not None:
        for row in rows:
            row["lab_code"] = row["lab_code"] or lab.code
    columns = ("tube_barcode", "lab_code", "result", "ct_orf1ab", "ct_n", "reported_at")
    table = pa.table(
        {c: pa.array(["" if r.get(c) is None else str(r[c]) for r in rows], pa.string()) for c in columns}
    )
    with _refusals():
        summary, outcomes = services.results_import(
            table=table, actor=actor, source="api", lab=lab, live=True
        )
    return _batch_out(summary, outcomes)


# --- re-check tasks --------------------------------------------------------------------------


def _task_out(task: RecheckTask) -> dict:
    return {
        "id": task.id,
        "kind": task.kind,
        "reason": task.reason,
        "status": task.status,
        "tube_barcode": task.tube.barcode,
        "community_code": task.community_id,
        "due_sample_at": task.due_sample_at,
        "due_result_at": task.due_result_at,
        "check_tube": task.check_tube.barcode if task.check_tube else None,
    }


@router.get("/tasks", response=list[TaskOut])
def tasks(request, round_code: RoundCode | None = None, open_only: bool = True, limit: int = 200):
    """Re-check tasks in the token's jurisdiction (person details: /persons/{id} with its own audit)."""
    listed = selectors.tasks_visible(actor=request.auth, round_code=round_code, open_only=open_only)
    return [_task_out(t) for t in listed[: max(1, min(limit, 1000))]]


@router.post("/tasks/{task_id}/sample", response=TaskOut)
def task_sample(request, task_id: int, body: TaskSampleIn):
    """The emergency team sampled the person alone: register the single tube against the task."""
    actor: Actor = request.auth
    task = selectors.task_visible(actor=actor, pk=task_id)
    if task is None:
        raise Http404  # as get_object_or_404 did: the same answer for not there and not yours
    with _refusals(409):
        task = services.recheck_sample_register(
            actor=actor, task=task, barcode=body.tube_barcode, sampled_at=body.sampled_at
        )
    return _task_out(selectors.task_visible(actor=actor, pk=task.pk))
