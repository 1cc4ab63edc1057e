"""The facts one domain states and another reads, by name, through ``Plugin.provides``.

A reader never imports the app that states a fact: it asks ``core.plugins.provider(name)`` and
gets a function or None (the app is not installed: the figure is unknown, shown as "—", never 0).
The shapes are here, in ``core``, so that both sides agree on them without knowing each other.

Facts and their providers' signatures (``at``: an aware time, or None for "as things stand"):

- ``"cases_as_of"`` → ``f(at) -> list[CaseFact]``: every case reported at or before ``at``, in
  its state at ``at`` (a conversion after ``at`` not yet applied).
- ``"plans_as_of"`` → ``f(at) -> list[PlanFact]``: the plans report as it would have stated it at
  ``at`` (FORMATS.md "lianfang trace plans"; contacts registered and cases reported at or before
  ``at`` only; a contact upgraded after ``at`` in their earlier category; a person who is a case
  has no plan).
- ``"overdue.<app>"`` (a family: each app states its own member) → ``f(actor, at) -> list[Overdue]``:
  that app's hand-offs past their protocol clock at ``at`` that ``actor`` may see (``None``: the
  server's authority, everything — the problem list's rules run so) (re-checks,
  traces, transfers, test days, requests …); ``core.plugins.providers("overdue")`` gives them all.
- ``"round_status"`` → ``f(actor, people) -> (round_code, dict[int, RoundStatusFact])``: each
  listed person's status in the live screening round (search results show it).
- ``"discharges_as_of"`` → ``f(at) -> list[ReleaseFact]``: discharges from treatment and
  releases from isolation at or before ``at``.
- ``"in_custody.<app>"`` (a family) → ``f(at) -> set[int]``: registry ids (``people.Person``) of
  the people that app holds in custody at ``at`` (custody: checked in at or before ``at`` and not
  released or discharged by then; tracing: a case reported before ``at``, a close contact whose plan
  has begun and not ended, ``monitoring_ends_at`` > ``at``); the screening round report's exempt rule takes the union of
  ``core.plugins.providers("in_custody")`` at the round's start (FORMATS.md, Screening).
- ``"places_now"`` → ``f(actor) -> list[PlaceFact]``: the isolation and treatment places ``actor``
  may see (``None``: all) with their rooms or beds and how many are taken now (by an open stay).
- ``"in_custody_sql.<app>"`` (a family) → ``f(person_id, at) -> (sql, params)``: the same test as
  an SQL condition on the person id column ``person_id`` (``%s`` placeholders, ``params`` in
  order), for the screening pages, which count in the database. An app states both or neither.
- ``"contacts_confirm_companions"`` → ``f(actor, rows: list[CompanionContact]) -> dict[str, str]``:
  a write, not a read — the companions a tracer confirmed, registered as contacts of category
  ``companion`` of their case by the contacts.csv rules (the path of any contact: merge, plans; a
  row already registered is ``duplicate``). Returns each row's ``ref`` → its outcome,
  ``"accepted"``, ``"duplicate"`` or a contacts.csv reason (``unknown_case`` when the actor has no
  authority over the case). Raises ``Refused`` when the actor's role may not register contacts.
  Tracing states it; the companions review page calls it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class CaseFact:
    case_code: str
    id_type: str
    id_number: str
    # The case's community: the one reported, else the registry's for the ID number, else "".
    community_code: str
    classification_at_report: str  # "confirmed" | "asymptomatic"
    found_in: str  # quarantine | controlled_area | screening | clinic | other
    reported_at: dt.datetime
    confirmed_at: dt.datetime | None = None  # conversion of an asymptomatic case, if at or before ``at``
    phone: str = ""  # lets telecom pings keyed by phone be matched to the case (companions)
    severity: str = ""


@dataclass(frozen=True, slots=True)
class PlanFact:
    id_type: str
    id_number: str
    name: str
    category: str
    case_code: str
    # The merged contact's community, else the registry's for the ID number, else "".
    community_code: str
    registered_at: dt.datetime
    upgraded_at: dt.datetime | None
    plan: Any  # lianfang.protocol.plans.Plan (protocol is Django-free; kept untyped to stay a leaf)


@dataclass(frozen=True, slots=True)
class ReleaseFact:
    id_type: str
    id_number: str
    kind: str  # "discharged" (a case, from treatment) | "released" (a contact, from isolation)
    case_code: str  # "" for a contact's release
    community_code: str
    at: dt.datetime


@dataclass(frozen=True, slots=True)
class Overdue:
    """One hand-off past its clock, as the overdue board and the problem list show it."""

    kind: str  # e.g. "recheck", "trace_core", "trace_report", "transfer", "test_day", "request"
    label: str  # what it is, for a person (already masked for the actor)
    division_code: str  # the most precise division it belongs to (community, town or county code)
    due_at: dt.datetime
    url: str  # the page where it is acted on
    ref: str  # a stable key of the object (e.g. "recheck:123"), for de-duplication


@dataclass(frozen=True, slots=True)
class PlaceFact:
    """An isolation hotel, 方舱 or designated hospital and its occupancy now."""

    code: str
    name: str
    kind: str  # "hotel" | "fangcang" | "designated_hospital"
    division_code: str  # the community it stands in
    units: int  # rooms (a hotel) or beds (a treatment place)
    taken: int  # of them, with someone checked in now
    url: str  # its page


@dataclass(frozen=True, slots=True)
class RoundStatusFact:
    """A person's status in the live screening round, as a list of people shows it (``"round_status"``
    → ``f(actor, people) -> (round_code, {person_id: RoundStatusFact})``: the latest open round the
    actor sees; people outside its scope and not sampled in it are left out)."""

    status: str  # "untested" | "exempt" | "pending" | "negative" | "invalid" | "abnormal"
    label: str  # in the active language
    level: str  # how urgent, as a badge class: "danger" | "warn" | "ok" | "info"


@dataclass(frozen=True, slots=True)
class CompanionContact:
    """A confirmed companion, as ``"contacts_confirm_companions"`` registers it (a contacts.csv row
    of category ``companion``)."""

    ref: str  # the caller's key of the row (its outcome is returned under it)
    case_code: str
    id_type: str
    id_number: str
    name: str
    phone: str
    community_code: str
    place: str  # where: the cells shared with the case
    last_exposure_at: dt.datetime  # the end of the last overlap
