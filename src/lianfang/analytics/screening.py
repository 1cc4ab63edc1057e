"""The round report of a mass screening round, as pure functions over Arrow tables.

Every join and aggregation runs in DuckDB (an in-memory connection per call) over the caller's Arrow
tables, so the report scales to millions of people without a Python loop per row; personal details
are fetched once, only for the people who appear in ``untested.csv`` and ``recheck.csv``.

Rules and file shapes are FORMATS.md's ("Status rules" and "lianfang round report"). This module
imports nothing from Django: the caller loads the tables (from the database, Parquet, ...).

Times: sample times are instants (``timestamp[us, tz=UTC]``; a tz-naive column is taken as UTC).
Report files write them as ``YYYY-MM-DD HH:MM:SS`` in Asia/Shanghai, a fixed +08:00 (no DST since
1991), computed here without DuckDB's ICU extension.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from lianfang.analytics import status
from lianfang.analytics.status import exempt_birth_cutoff
from lianfang.core.reader import inert

COVERAGE_COLUMNS = [
    "county_code",
    "town_code",
    "community_code",
    "community_name",
    "expected",
    "exempt",
    "sampled",
    "negative",
    "pending",
    "invalid",
    "abnormal",
    "untested",
    "coverage",
]
UNTESTED_COLUMNS = ["community_code", "id_type", "id_number", "name", "phone", "address", "tags"]
RECHECK_COLUMNS = [
    "tube_barcode",
    "reason",
    "id_type",
    "id_number",
    "name",
    "phone",
    "community_code",
    "site_code",
    "collected_at",
]
PENDING_COLUMNS = ["tube_barcode", "site_code", "box_code", "collected_at", "members"]
SUMMARY_KEYS = [
    "round",
    "expected",
    "exempt",
    "sampled",
    "sampled_unregistered",
    "sampled_out_of_scope",
    "negative",
    "pending",
    "invalid",
    "abnormal",
    "untested",
    "tubes",
    "tubes_abnormal",
    "results_held",
]
# The count columns of coverage.csv (everything but the codes, the name and the ratio).
COUNT_COLUMNS = COVERAGE_COLUMNS[4:12]
# People counts of summary.json that are the totals of coverage.csv.
COVERAGE_TOTAL_KEYS = [
    "expected",
    "exempt",
    "sampled",
    "negative",
    "pending",
    "invalid",
    "abnormal",
    "untested",
]

REPORT_FILES = ["coverage.csv", "untested.csv", "recheck.csv", "pending_tubes.csv", "summary.json"]

SHANGHAI_OFFSET = dt.timedelta(hours=8)
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"

DETAIL_COLUMNS = ["id_type", "id_number", "name", "phone", "address", "tags"]

# The input shapes. Columns are selected by name (extra columns are ignored) and cast when their
# type differs (e.g. large_string, or the null type of an empty column).
_COMMUNITIES = pa.schema(
    [
        ("community_code", pa.string()),
        ("community_name", pa.string()),
        ("town_code", pa.string()),
        ("county_code", pa.string()),
    ]
)
_PERSONS = pa.schema(
    [
        ("person_id", pa.int64()),
        ("community_code", pa.string()),
        ("registered", pa.bool_()),
        ("birth_date", pa.date32()),
        ("in_custody", pa.bool_()),
    ]
)
_TUBES = pa.schema(
    [
        ("tube_id", pa.int64()),
        ("tube_barcode", pa.string()),
        ("site_code", pa.string()),
        ("box_code", pa.string()),
    ]
)
_RESULTS = pa.schema([("tube_id", pa.int64()), ("result", pa.string())])
_DETAILS = pa.schema([("person_id", pa.int64()), *[(c, pa.string()) for c in DETAIL_COLUMNS]])

# The status rules come from :mod:`lianfang.analytics.status`: the ranks of the effective results,
# and the four "some result is X" columns of the results per tube (``r`` in :func:`_load`).
_RANK = status.RANK
_FLAGS = {value: f"r.any_{value}" for value in status.RESULTS}

# coverage = sampled / expected rounded half up to 4 decimals in exact integer arithmetic; 0 when
# nobody is expected.
_COVERAGE_SQL = (
    "CASE WHEN expected = 0 THEN 0.0 "
    "ELSE ((sampled * 20000 + expected) // (2 * expected))::DOUBLE / 10000 END"
)


@dataclass(frozen=True, eq=False)
class RoundInput:
    """Everything the round report reads; tables as described in the module's documentation."""

    round_code: str
    start_date: dt.date
    exempt_under_years: int  # the round's protocol edition: people under this age are exempt
    scope: list[str]
    communities: pa.Table
    persons: pa.Table
    tubes: pa.Table
    samples: pa.Table
    results: pa.Table
    results_held: int
    details: Callable[[pa.Array], pa.Table]


@dataclass(eq=False)
class RoundReport:
    """The report's tables (columns as the CSV files, typed) and its summary."""

    coverage: pa.Table
    untested: pa.Table
    recheck: pa.Table
    pending_tubes: pa.Table
    summary: dict[str, Any] = field(default_factory=dict)


# --- public functions ------------------------------------------------------------------------


def round_report(inp: RoundInput) -> RoundReport:
    """Compute the whole round report; calls ``inp.details`` once (not at all if nobody is listed)."""
    con = duckdb.connect()
    try:
        _load(con, inp)
        coverage = _coverage(con)
        untested, recheck = _people_lists(con, inp.details)
        pending = _pending_tubes(con)
        summary = _summary(con, inp, coverage)
    finally:
        con.close()
    return RoundReport(
        coverage=coverage, untested=untested, recheck=recheck, pending_tubes=pending, summary=summary
    )


def coverage_by_community(inp: RoundInput) -> pa.Table:
    """The coverage table alone (``COVERAGE_COLUMNS``), one row per community in scope; no details fetched."""
    con = duckdb.connect()
    try:
        _load(con, inp)
        return _coverage(con)
    finally:
        con.close()


def aggregate_coverage(coverage: pa.Table, level: str) -> pa.Table:
    """Sum a coverage table up to ``level`` ("county" or "town"), recomputing ``coverage``.

    Columns: the level's codes (``county_code``, plus ``town_code`` for towns), the count columns,
    ``coverage``; sorted by the codes.
    """
    keys = {"county": ["county_code"], "town": ["county_code", "town_code"]}.get(level)
    if keys is None:
        raise ValueError(f"level must be 'county' or 'town', not {level!r}")
    con = duckdb.connect()
    try:
        con.register("cov", coverage.select(keys + COUNT_COLUMNS))
        key_list = ", ".join(keys)
        sums = ", ".join(f"coalesce(sum({c}), 0)::BIGINT AS {c}" for c in COUNT_COLUMNS)
        return _arrow(
            con,
            f"""
            SELECT *, {_COVERAGE_SQL} AS coverage
            FROM (SELECT {key_list}, {sums} FROM cov GROUP BY {key_list})
            ORDER BY {key_list}
            """,
        )
    finally:
        con.close()


def write_report(report: RoundReport, out_dir: Path) -> None:
    """Write the five report files into ``out_dir`` (created if missing)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    _write_csv(out_dir / "coverage.csv", report.coverage, COVERAGE_COLUMNS)
    _write_csv(out_dir / "untested.csv", report.untested, UNTESTED_COLUMNS)
    _write_csv(out_dir / "recheck.csv", report.recheck, RECHECK_COLUMNS)
    _write_csv(out_dir / "pending_tubes.csv", report.pending_tubes, PENDING_COLUMNS)
    summary = {k: report.summary[k] for k in SUMMARY_KEYS}
    (out_dir / "summary.json").write_text(
        json.dumps(summary, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )


def format_shanghai(times: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """Instants as ``YYYY-MM-DD HH:MM:SS`` strings in Asia/Shanghai (+08:00); nulls stay null."""
    micros = _utc_micros(times)
    local = pc.add(micros, int(SHANGHAI_OFFSET / dt.timedelta(microseconds=1))).cast(pa.timestamp("us"))
    seconds = pc.floor_temporal(local, unit="second").cast(pa.timestamp("s"))
    return pc.strftime(seconds, format=TIME_FORMAT)


# --- loading ---------------------------------------------------------------------------------


def _conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """The schema's columns of ``table``, cast where the type differs."""
    columns = []
    for f in schema:
        col = table.column(f.name)
        columns.append(col if col.type == f.type else col.cast(f.type))
    return pa.Table.from_arrays(columns, schema=schema)


def _utc_micros(times: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """Microseconds since the epoch (UTC) of a timestamp column; tz-naive values are taken as UTC."""
    t = times.type
    if pa.types.is_null(t):
        return times.cast(pa.int64())
    if not pa.types.is_timestamp(t):
        raise TypeError(f"collected_at must be a timestamp, not {t}")
    if t.unit != "us":
        times = times.cast(pa.timestamp("us", tz=t.tz), safe=False)
    return times.cast(pa.int64())


def _as_utc(micros: pa.ChunkedArray) -> pa.ChunkedArray:
    return micros.cast(pa.int64()).cast(pa.timestamp("us", tz="UTC"))


def _arrow(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> pa.Table:
    rel = con.sql(sql, params=params) if params else con.sql(sql)
    fetch = getattr(rel, "to_arrow_table", None) or rel.fetch_arrow_table
    return fetch()


def _load(con: duckdb.DuckDBPyConnection, inp: RoundInput) -> None:
    """Register the inputs and build the working tables.

    Effective results are ranked so that a person's status is the maximum over their tubes:
    3 abnormal, 2 negative, 1 invalid, 0 pending (sampled, no result yet); the rules and the
    exempt test are :mod:`lianfang.analytics.status`'s.

    ``sc`` communities in scope; ``tube`` every tube of the round with its effective result
    (``rank``), ``reason``, result count, members and first sample time; ``pstat`` every sampled
    person's status rank and whether they have a negative tube; ``exp`` the expected people with
    ``exempt`` and their status rank (null: not sampled). Samples of tubes not in ``tubes`` are
    ignored; results of such tubes too.
    """
    codes = sorted({c.strip() for c in inp.scope if c and c.strip()})
    con.register("in_scope", pa.table({"code": pa.array(codes, pa.string())}))
    con.register("in_communities", _conform(inp.communities, _COMMUNITIES))
    con.register("in_persons", _conform(inp.persons, _PERSONS))
    con.register("in_tubes", _conform(inp.tubes, _TUBES))
    con.register("in_results", _conform(inp.results, _RESULTS))
    con.register(
        "in_samples",
        pa.table(
            {
                "tube_id": inp.samples.column("tube_id").cast(pa.int64()),
                "person_id": inp.samples.column("person_id").cast(pa.int64()),
                "collected_us": _utc_micros(inp.samples.column("collected_at")),
            }
        ),
    )
    con.execute(
        """
        CREATE TEMP TABLE sc AS
        SELECT county_code, town_code, community_code, community_name
        FROM in_communities c
        WHERE EXISTS (SELECT 1 FROM in_scope s WHERE starts_with(c.community_code, s.code))
        """
    )
    con.execute(
        f"""
        CREATE TEMP TABLE tube AS
        WITH r AS (
            SELECT tube_id, count(*) AS n_results,
                   {", ".join(f"{expr} AS any_{value}" for value, expr in status.result_flags("result").items())}
            FROM in_results GROUP BY tube_id
        ), s AS (
            SELECT tube_id, count(DISTINCT person_id) AS members, min(collected_us) AS first_us
            FROM in_samples GROUP BY tube_id
        )
        SELECT t.tube_id, t.tube_barcode, t.site_code, t.box_code,
               coalesce(r.n_results, 0) AS n_results,
               ({status.tube_rank(_FLAGS)})::TINYINT AS rank,
               {status.tube_reason(_FLAGS)} AS reason,
               coalesce(s.members, 0) AS members, s.first_us
        FROM in_tubes t LEFT JOIN r ON r.tube_id = t.tube_id LEFT JOIN s ON s.tube_id = t.tube_id
        """
    )
    con.execute(
        f"""
        CREATE TEMP TABLE pstat AS
        SELECT s.person_id, max(t.rank) AS rank, bool_or(t.rank = {_RANK[status.NEGATIVE]}) AS has_neg
        FROM in_samples s JOIN tube t ON t.tube_id = s.tube_id
        GROUP BY s.person_id
        """
    )
    con.execute(
        f"""
        CREATE TEMP TABLE exp AS
        SELECT p.person_id, p.community_code,
               {status.exempt("p.birth_date", "?", in_custody="p.in_custody")} AS exempt,
               ps.rank
        FROM in_persons p
        JOIN sc ON sc.community_code = p.community_code
        LEFT JOIN pstat ps ON ps.person_id = p.person_id
        WHERE p.registered
        """,
        [exempt_birth_cutoff(inp.start_date, inp.exempt_under_years)],
    )


# --- the report's parts ----------------------------------------------------------------------


def _coverage(con: duckdb.DuckDBPyConnection) -> pa.Table:
    counts = ", ".join(f"coalesce(a.{c}, 0)::BIGINT AS {c}" for c in COUNT_COLUMNS)
    person_counts = ", ".join(
        f"count(*) FILTER (WHERE {pred}) AS {key}"
        for key, pred in status.person_counts("rank", "exempt").items()
    )
    return _arrow(
        con,
        f"""
        WITH a AS (
            SELECT community_code,
                   count(*) AS expected, {person_counts}
            FROM exp GROUP BY community_code
        ), c AS (
            SELECT sc.county_code, sc.town_code, sc.community_code, sc.community_name, {counts}
            FROM sc LEFT JOIN a ON a.community_code = sc.community_code
        )
        SELECT *, {_COVERAGE_SQL} AS coverage FROM c ORDER BY community_code
        """,
    )


def _people_lists(
    con: duckdb.DuckDBPyConnection, details: Callable[[pa.Array], pa.Table]
) -> tuple[pa.Table, pa.Table]:
    """``untested`` and ``recheck``, with the details of exactly their people (one callback call)."""
    con.execute(
        "CREATE TEMP TABLE u AS SELECT person_id, community_code FROM exp "
        f"WHERE {status.person_counts('rank', 'exempt')[status.UNTESTED]}"
    )
    # Every member of an abnormal tube; members of an invalid tube unless they have a negative tube.
    con.execute(
        f"""
        CREATE TEMP TABLE rc AS
        SELECT t.tube_id, t.tube_barcode, t.reason, s.person_id,
               CASE WHEN p.registered THEN p.community_code END AS community_code,
               t.site_code, s.collected_us
        FROM in_samples s
        JOIN tube t ON t.tube_id = s.tube_id
        JOIN pstat ps ON ps.person_id = s.person_id
        LEFT JOIN in_persons p ON p.person_id = s.person_id
        WHERE t.rank = {_RANK[status.ABNORMAL]} OR (t.rank = {_RANK[status.INVALID]} AND NOT ps.has_neg)
        """
    )
    ids = _arrow(con, "SELECT person_id FROM u UNION SELECT person_id FROM rc ORDER BY person_id")
    ids = ids.column("person_id").combine_chunks().cast(pa.int64())
    if len(ids):
        det = _conform(details(ids), _DETAILS)
    else:
        det = _DETAILS.empty_table()
    con.register("in_details", det)
    con.execute(
        "CREATE TEMP TABLE det AS SELECT * FROM in_details QUALIFY row_number() OVER (PARTITION BY person_id) = 1"
    )
    untested = _arrow(
        con,
        """
        SELECT u.community_code, d.id_type, d.id_number, d.name, d.phone, d.address, d.tags
        FROM u LEFT JOIN det d ON d.person_id = u.person_id
        ORDER BY u.community_code, coalesce(d.id_number, ''), u.person_id
        """,
    )
    recheck = _arrow(
        con,
        """
        SELECT r.tube_barcode, r.reason, d.id_type, d.id_number, d.name, d.phone, r.community_code,
               r.site_code, r.collected_us AS collected_at
        FROM rc r LEFT JOIN det d ON d.person_id = r.person_id
        ORDER BY r.tube_barcode, coalesce(d.id_number, ''), coalesce(d.id_type, ''), r.tube_id, r.person_id
        """,
    )
    recheck = recheck.set_column(
        RECHECK_COLUMNS.index("collected_at"), "collected_at", _as_utc(recheck.column("collected_at"))
    )
    return untested, recheck


def _pending_tubes(con: duckdb.DuckDBPyConnection) -> pa.Table:
    """Tubes with samples and no result row at all."""
    pending = _arrow(
        con,
        """
        SELECT tube_barcode, site_code, box_code, first_us AS collected_at, members::BIGINT AS members
        FROM tube WHERE n_results = 0 AND members > 0
        ORDER BY tube_barcode, tube_id
        """,
    )
    return pending.set_column(
        PENDING_COLUMNS.index("collected_at"), "collected_at", _as_utc(pending.column("collected_at"))
    )


def _summary(con: duckdb.DuckDBPyConnection, inp: RoundInput, coverage: pa.Table) -> dict[str, Any]:
    """People totals of coverage; sampled people not registered (or unknown to ``persons``) and
    registered people sampled outside the scope; tubes with a sample, and the abnormal ones."""
    totals = {k: int(pc.sum(coverage.column(k)).as_py() or 0) for k in COVERAGE_TOTAL_KEYS}
    unregistered, out_of_scope = con.execute(
        """
        SELECT count(*) FILTER (WHERE NOT coalesce(p.registered, false))::BIGINT,
               count(*) FILTER (WHERE p.registered AND e.person_id IS NULL)::BIGINT
        FROM pstat ps
        LEFT JOIN in_persons p ON p.person_id = ps.person_id
        LEFT JOIN exp e ON e.person_id = ps.person_id
        """
    ).fetchall()[0]
    tubes, tubes_abnormal = con.execute(
        f"""
        SELECT count(*) FILTER (WHERE members > 0)::BIGINT,
               count(*) FILTER (WHERE members > 0 AND rank = {_RANK[status.ABNORMAL]})::BIGINT
        FROM tube
        """
    ).fetchall()[0]
    summary: dict[str, Any] = {
        "round": inp.round_code,
        **totals,
        "sampled_unregistered": int(unregistered),
        "sampled_out_of_scope": int(out_of_scope),
        "tubes": int(tubes),
        "tubes_abnormal": int(tubes_abnormal),
        "results_held": int(inp.results_held),
    }
    return {k: summary[k] for k in SUMMARY_KEYS}


# --- writing ---------------------------------------------------------------------------------


def _text(col: pa.ChunkedArray) -> list[str]:
    """A column as the CSV's text: nulls empty, integers plain, ratios with 4 decimals, times in +08:00."""
    t = col.type
    if pa.types.is_null(t):
        return [""] * len(col)
    if pa.types.is_floating(t):
        return ["" if v is None else f"{v:.4f}" for v in col.to_pylist()]
    if pa.types.is_timestamp(t):
        col = format_shanghai(col)
    elif not pa.types.is_string(t):
        col = col.cast(pa.string())
    return pc.fill_null(col, "").to_pylist()


def _write_csv(path: Path, table: pa.Table, columns: list[str]) -> None:
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(columns)
        if table.num_rows:
            rows = zip(*(_text(table.column(c)) for c in columns), strict=True)
            writer.writerows([inert(v) for v in row] for row in rows)  # no live formulas
