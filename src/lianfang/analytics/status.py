"""FORMATS.md's status rules and the exempt test, written once, as SQL text.

The tube's effective result, a person's status in a round and who is exempt are decided in three
places: the database when a batch's tubes are brought up to date (``tubes_refresh``, SQLite or
PostgreSQL), the pages' counts (the screening selectors, the same databases) and the round report
(DuckDB, :mod:`lianfang.analytics.screening`). Each of them takes its expressions from here: the
functions build ANSI SQL (``CASE``, ``SUM``, ``IS NULL``, comparisons) that all three engines
accept, from the caller's column names, so the rule is written once and runs where the data is.
No Django, no database here: only text (and the Python twins the property tests compare with).

Ranks order the results so that a person's status is the maximum over their tubes:
3 abnormal, 2 negative, 1 invalid, 0 pending (sampled, no result yet); a person with no tube in
the round (rank NULL) is untested unless exempt.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping

# Lab results (results.csv) and the effective results of a tube.
POSITIVE, INCONCLUSIVE, NEGATIVE, INVALID = "positive", "inconclusive", "negative", "invalid"
RESULTS = (POSITIVE, INCONCLUSIVE, NEGATIVE, INVALID)
ABNORMAL, PENDING = "abnormal", "pending"
STATES = (ABNORMAL, NEGATIVE, INVALID, PENDING)
UNTESTED = "untested"

RANK = {ABNORMAL: 3, NEGATIVE: 2, INVALID: 1, PENDING: 0}
STATE_OF_RANK = {rank: state for state, rank in RANK.items()}

# A person's counts in a round (coverage.csv's count columns after ``expected``), in file order.
PERSON_COUNTS = ("exempt", "sampled", NEGATIVE, PENDING, INVALID, ABNORMAL, UNTESTED)


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


# --- the tube's effective result ------------------------------------------------------------


def result_flags(result: str) -> dict[str, str]:
    """Aggregate expressions "some result of the group is X", one per lab result, over the
    column ``result`` (NULL rows, as from an outer join, count for nothing)."""
    return {v: f"SUM(CASE WHEN {result} = {_literal(v)} THEN 1 ELSE 0 END) > 0" for v in RESULTS}


def _effective(flags: Mapping[str, str], out: Mapping[str, str]) -> str:
    """FORMATS.md: abnormal if any result is positive or inconclusive; else negative if any is
    negative; else invalid if any is invalid; else pending (a NULL flag — no results — is false)."""
    return (
        f"CASE WHEN {flags[POSITIVE]} OR {flags[INCONCLUSIVE]} THEN {out[ABNORMAL]} "
        f"WHEN {flags[NEGATIVE]} THEN {out[NEGATIVE]} WHEN {flags[INVALID]} THEN {out[INVALID]} "
        f"ELSE {out[PENDING]} END"
    )


def tube_state(flags: Mapping[str, str]) -> str:
    """The effective result of a tube as text (``abnormal``, ``negative``, ``invalid``,
    ``pending``), from the four boolean ``flags`` of :func:`result_flags` (or columns holding them)."""
    return _effective(flags, {s: _literal(s) for s in STATES})


def tube_rank(flags: Mapping[str, str]) -> str:
    """The effective result of a tube as its rank (:data:`RANK`)."""
    return _effective(flags, {s: str(r) for s, r in RANK.items()})


def tube_reason(flags: Mapping[str, str]) -> str:
    """Why an abnormal or invalid tube's members are re-checked: ``positive`` if any result is
    positive, else ``inconclusive``, else ``invalid``; blank for a negative or pending tube."""
    return (
        f"CASE WHEN {flags[POSITIVE]} THEN {_literal(POSITIVE)} "
        f"WHEN {flags[INCONCLUSIVE]} THEN {_literal(INCONCLUSIVE)} WHEN {flags[NEGATIVE]} THEN '' "
        f"WHEN {flags[INVALID]} THEN {_literal(INVALID)} ELSE '' END"
    )


def state_rank(state: str) -> str:
    """The rank of a stored effective result (a tube's cached ``state`` column)."""
    whens = " ".join(f"WHEN {state} = {_literal(s)} THEN {RANK[s]}" for s in (ABNORMAL, NEGATIVE, INVALID))
    return f"CASE {whens} ELSE {RANK[PENDING]} END"


# --- the exempt test and a person's status ----------------------------------------------------


def exempt_birth_cutoff(start_date: dt.date, years: int) -> dt.date:
    """The last birth date of someone already ``years`` completed years old on ``start_date``
    (the protocol's exempt age: 2).

    People born after it are exempt. For a 29 February start the day ``years`` earlier may not
    exist, so the cutoff is then 28 February (a child born 1 March is still under age).
    """
    try:
        return start_date.replace(year=start_date.year - years)
    except ValueError:
        return dt.date(start_date.year - years, 2, 28)


def exempt(birth_date: str, cutoff: str, in_custody: str | None = None) -> str:
    """True (never NULL) when a person is exempt from the round: born after ``cutoff`` (a
    placeholder or literal for :func:`exempt_birth_cutoff`; an unknown birth date is not exempt),
    or — with ``in_custody`` — in custody at the start (NULL: not in custody)."""
    young = f"({birth_date} IS NOT NULL AND {birth_date} > {cutoff})"
    if in_custody is None:
        return young
    return f"(({in_custody} IS NOT NULL AND {in_custody}) OR {young})"


def person_counts(rank: str, exempt_expr: str) -> dict[str, str]:
    """The predicates of :data:`PERSON_COUNTS` for an expected person, from their status ``rank``
    (the maximum of their tubes' ranks; NULL when not sampled in the round) and the boolean
    ``exempt_expr`` (:func:`exempt`). Exempt people sampled count as sampled and by status;
    ``untested`` is the non-exempt not sampled."""
    return {
        "exempt": exempt_expr,
        "sampled": f"{rank} IS NOT NULL",
        **{s: f"{rank} = {RANK[s]}" for s in (NEGATIVE, PENDING, INVALID, ABNORMAL)},
        UNTESTED: f"{rank} IS NULL AND NOT {exempt_expr}",
    }


# --- Python twins (for small batches and for the property tests) ------------------------------


def tube_state_of(results: Iterable[str | None]) -> str:
    """The effective result of a tube with these lab results."""
    seen = set(results)
    if POSITIVE in seen or INCONCLUSIVE in seen:
        return ABNORMAL
    for state in (NEGATIVE, INVALID):
        if state in seen:
            return state
    return PENDING


def person_status_of(states: Iterable[str], *, exempt: bool = False) -> str | None:
    """A person's status in a round from their tubes' effective results: the highest rank, or
    ``untested`` with no tube (None for an exempt person with no tube: neither)."""
    ranks = [RANK[s] for s in states]
    if ranks:
        return STATE_OF_RANK[max(ranks)]
    return None if exempt else UNTESTED
