"""What the samples and results imports share: batch sizes, the ingest locks, temporary key
tables, IN-list chunks, the staging table of a samples file and the audited summary.

The tunables are read as ``ingest.BIG_BATCH`` / through :func:`_chunks` at call time, so a test
that shrinks them patches this module (the package does not re-export them: patching a copy there
would change nothing).
"""

from __future__ import annotations

import datetime as dt
import zlib
from collections.abc import Callable, Iterable

import pyarrow as pa
from django.db import connection

from lianfang.accounts.scoping import Actor
from lianfang.accounts.services import audit_record
from lianfang.core.db import temp_table_from_arrow
from lianfang.core.summary import ImportSummary
from lianfang.screening import rules

Progress = Callable[[int, int], None]

# Batches above this size lock out every other writer instead of locking tube by tube.
BIG_BATCH = 2000
# Values per IN list: far within any database's bound parameters (SQLite: 32,766).
_IN_LIST = 5000


def _chunks(values: list) -> Iterable[list]:
    """``values`` in lists of at most :data:`_IN_LIST` (read at call time: tests shrink it)."""
    for start in range(0, len(values), _IN_LIST):
        yield values[start : start + _IN_LIST]


_INGEST_LOCK = 7_240_301  # pg advisory lock key of the screening ingest
_TUBE_LOCK_CLASS = 7_240


# Lock calls per statement (PostgreSQL: "target lists can have at most 1664 entries").
_LOCKS_PER_STATEMENT = 1000


def _lock_ingest(barcodes: list[str] | None) -> None:
    """Serialise writers of the same tubes (PostgreSQL; SQLite's IMMEDIATE transactions already do).

    A big batch (``barcodes`` None, or more than BIG_BATCH tubes) takes the ingest lock
    exclusively; a device's small batch takes it shared, then its tubes one by one in sorted
    order (no deadlock), so devices at different sites never wait for each other and two devices
    adding to the same tube cannot overfill it.
    """
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        if barcodes is None or len(barcodes) > BIG_BATCH:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_INGEST_LOCK])
            # One big batch at a time: its joins and sorts may hold their hash tables in memory
            # instead of spilling to disk (the server default is 4 MB).
            cursor.execute("SET LOCAL work_mem = '256MB'")
            return
        # A select list is evaluated left to right, so the tube locks are taken after the shared
        # lock and in sorted order: one round trip for a device's batch. PostgreSQL allows at
        # most 1,664 entries in a select list, so a batch of more tubes goes in several.
        keys = sorted({zlib.crc32(b.encode()) - 2**31 for b in barcodes})
        calls = [("pg_advisory_xact_lock_shared(%s)", [_INGEST_LOCK])]
        calls += [("pg_advisory_xact_lock(%s, %s)", [_TUBE_LOCK_CLASS, key]) for key in keys]
        for start in range(0, len(calls), _LOCKS_PER_STATEMENT):
            part = calls[start : start + _LOCKS_PER_STATEMENT]
            cursor.execute(f"SELECT {', '.join(c for c, _ in part)}", [a for _, args in part for a in args])


def _rows(cursor, sql: str, params=()) -> list[tuple]:
    cursor.execute(sql, params)
    return cursor.fetchall()


def _with_keys(name: str, values: list[str], sql: str) -> list[tuple]:
    """Run ``sql`` (which joins the temporary table ``name`` (k)) over ``values``."""
    temp_table_from_arrow(name, pa.table({"k": pa.array(values, pa.string())}))
    with connection.cursor() as cursor:
        rows = _rows(cursor, sql)
        cursor.execute(f"DROP TABLE IF EXISTS {name}")
    return rows


def _db_time(value: dt.datetime) -> object:
    """A UTC instant as the database backend wants it in raw SQL."""
    if connection.vendor == "sqlite":
        return value.replace(tzinfo=None).isoformat(" ")
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value


def _summary_audited(*, actor: Actor | None, kind: str, source: str, outcomes: pa.Table) -> ImportSummary:
    """The batch's summary from its row outcomes, recorded as one audited import event."""
    summary = ImportSummary(read=outcomes.num_rows)
    for outcome, count in rules.summarise(outcomes).items():
        if outcome == rules.ACCEPTED:
            summary.accepted = count
        elif outcome == rules.DUPLICATE:
            summary.duplicate = count
        elif outcome == rules.HELD:
            summary.held = count
        else:
            summary.reject(outcome, count)
    assert summary.balanced, summary
    audit_record(
        actor=actor,
        action="import",
        object_type=kind,
        object_id=source[:64],
        detail={"source": source, **summary.as_dict()},
    )
    return summary


def _arrow_rows(table: pa.Table, columns: list[str], convert: dict[str, Callable] | None = None):
    """Tuples of ``columns`` from an Arrow table, a batch at a time (never the whole table as objects)."""
    convert = convert or {}
    for batch in table.select(columns).to_batches(max_chunksize=100_000):
        cols = []
        for name in columns:
            values = batch.column(name).to_pylist()
            if name in convert:
                values = [convert[name](v) for v in values]
            cols.append(values)
        yield from zip(*cols, strict=True)


_STAGE_SCHEMA = pa.schema(
    [
        ("barcode", pa.string()),
        ("id_type", pa.string()),
        ("id_number", pa.string()),
        ("name", pa.string()),
        ("collected_at", pa.timestamp("us")),
    ]
)


def _stage_create(*, indexed: bool) -> None:
    """The file's staging table of accepted rows (session-temporary). ``indexed`` by barcode when
    it keeps rows for the later slices' member look-ups (emptied after each slice, it needs none)."""
    temp_table_from_arrow("sample_stage", _STAGE_SCHEMA.empty_table())
    if indexed:
        with connection.cursor() as cursor:
            cursor.execute("CREATE INDEX sample_stage_barcode ON sample_stage (barcode)")


def _stage_end(*, drop: bool) -> None:
    """Empty the stage for the next slice (SQLite: DELETE without WHERE truncates) or drop it."""
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS sample_stage" if drop else "DELETE FROM sample_stage")
