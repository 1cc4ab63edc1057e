"""Database plumbing every app uses, free of domain models.

Bulk writes that never go row by row through the ORM (executemany on SQLite, COPY on PostgreSQL),
session-temporary staging tables, reading a query into Arrow (:func:`query_arrow`), dialect
helpers, and :func:`loaded` (a model instance from values already read, for hot paths).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager

import pyarrow as pa
from django.db import connection
from django.db.models import Model


def bulk_insert(table: str, columns: Sequence[str], rows: Iterable[Sequence]) -> int:
    """Insert ``rows`` into ``table``; call inside a transaction. Returns the number of rows."""
    qn = connection.ops.quote_name
    cols = ", ".join(qn(c) for c in columns)
    count = 0
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            raw = cursor.cursor  # the psycopg cursor: COPY is not in the DB-API
            with raw.copy(f"COPY {qn(table)} ({cols}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
                    count += 1
        else:
            marks = ", ".join(["%s"] * len(columns))
            batch: list = []
            sql = f"INSERT INTO {qn(table)} ({cols}) VALUES ({marks})"
            for row in rows:
                batch.append(row)
                if len(batch) >= 50_000:
                    cursor.executemany(sql, batch)
                    count += len(batch)
                    batch = []
            if batch:
                cursor.executemany(sql, batch)
                count += len(batch)
    return count


def temp_key_table(name: str, columns: Sequence[str], rows: Iterable[Sequence]) -> None:
    """(Re)create a session-temporary table of text columns and fill it in bulk."""
    qn = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {qn(name)}")
        cursor.execute(f"CREATE TEMPORARY TABLE {qn(name)} ({', '.join(qn(c) + ' TEXT' for c in columns)})")
    bulk_insert(name, columns, rows)


def temp_table_from_arrow(name: str, table: pa.Table) -> None:
    """(Re)create a session-temporary table and fill it from an Arrow table.

    Integer columns are BIGINT (they join ids through their indexes), the rest TEXT; times are
    written as UTC instants (PostgreSQL) or naive UTC text (SQLite).
    """
    qn = connection.ops.quote_name
    columns = ", ".join(
        f"{qn(f.name)} {'BIGINT' if pa.types.is_integer(f.type) else 'TEXT'}" for f in table.schema
    )
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {qn(name)}")
        cursor.execute(f"CREATE TEMPORARY TABLE {qn(name)} ({columns})")
    insert_arrow(name, table)


def insert_arrow(table_name: str, table: pa.Table, columns: Sequence[str] | None = None) -> int:
    """Insert an Arrow table's rows into ``table_name`` (its columns named as the table's, or
    ``columns`` in the same order); call inside a transaction. Returns the number of rows.

    On PostgreSQL the rows go as CSV written by Arrow (in C) into COPY: no Python object per
    value; a timestamp without a zone is taken as UTC. On SQLite: executemany, times as naive
    UTC text (the backend's own form).
    """
    columns = list(columns or table.column_names)
    if connection.vendor != "postgresql":
        return bulk_insert(table_name, columns, _table_rows(table))
    import pyarrow.csv as pacsv

    qn = connection.ops.quote_name
    arrays = [
        col.cast(pa.timestamp("us", tz="UTC")) if pa.types.is_timestamp(col.type) else col
        for col in table.columns
    ]
    table = pa.Table.from_arrays(arrays, names=columns)
    with connection.cursor() as cursor:
        with cursor.cursor.copy(
            f"COPY {qn(table_name)} ({', '.join(qn(c) for c in columns)}) FROM STDIN WITH (FORMAT csv)"
        ) as copy:
            for batch in table.to_batches(max_chunksize=200_000):
                sink = pa.BufferOutputStream()
                pacsv.write_csv(batch, sink, write_options=pacsv.WriteOptions(include_header=False))
                copy.write(memoryview(sink.getvalue()))
    return table.num_rows


def _table_rows(table: pa.Table):
    """Rows of an Arrow table as tuples, a batch at a time; times as naive UTC text (SQLite's form)."""
    for batch in table.to_batches(max_chunksize=100_000):
        cols = [
            (sqlite_time_text(col) if pa.types.is_timestamp(col.type) else col).to_pylist()
            for col in batch.columns
        ]
        yield from zip(*cols, strict=True)


def sqlite_time_text(times: pa.Array) -> pa.Array:
    """Timestamps as the text Django's SQLite backend stores (``str()`` of a naive UTC datetime:
    no fraction when it is zero), computed in Arrow. SQLite compares times as text, so the form
    must be exactly the backend's; a datetime object per value cost ~3 µs a row in bulk writes."""
    import pyarrow.compute as pc

    # A zoned instant's value is UTC already: dropping the zone keeps it. The cast to text is
    # ISO with a space and six decimals (a tenth of the time of pc.strftime).
    text = times.cast(pa.timestamp("us", tz=times.type.tz)).cast(pa.timestamp("us")).cast(pa.string())
    return pc.if_else(pc.ends_with(text, ".000000"), pc.utf8_slice_codeunits(text, 0, 19), text)


# SQLite's page cache during a bulk import (the connection's usual one is 64 MB). At 10 M people
# 1 GB took the samples import from 374 s to 268 s, and the peak to 4.24 GB: half of it stays
# within the 4 GB goal.
BULK_CACHE_MB = 512
# Rows SQLite's ANALYZE reads per index (a sample: enough to rank the indexes of a table, and it
# keeps ANALYZE of a 10 M-row table in milliseconds instead of a full scan of every index).
SQLITE_ANALYSIS_LIMIT = 2000


@contextmanager
def bulk_cache(rows: int, threshold: int = 100_000) -> Iterator[None]:
    """A bigger SQLite page cache while a batch of ``rows`` is written (restored after).

    A city-sized import updates indexes of millions of entries at random places (people by ID,
    samples by person); with the usual cache the same pages are evicted, written to the WAL and
    read back many times over within the one transaction. PostgreSQL has its shared buffers.
    """
    if rows <= threshold or connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        usual = cursor.fetchone()[0]
        cursor.execute(f"PRAGMA cache_size = {-BULK_CACHE_MB * 1024}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size = {int(usual)}")


def analyze_after_bulk(tables: Sequence[str], rows: int, threshold: int = 2000) -> None:
    """Refresh the planner's statistics after a big batch (call after the commit).

    PostgreSQL: autovacuum gets there eventually; until it does, a table that grew from nothing to
    millions of rows is planned as if it were empty, and pages that join it take minutes instead
    of milliseconds. SQLite keeps no statistics until ANALYZE runs, and without them it picks an
    index by its shape alone: at 1 M people a county user's community page walked the county index
    (89 ms) where the community's own index answers at once. ``analysis_limit`` makes SQLite sample
    each index instead of reading all of it (docs/performance.md has what it costs).
    """
    if rows <= threshold or connection.in_atomic_block:
        return
    qn = connection.ops.quote_name
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"ANALYZE {', '.join(qn(t) for t in tables)}")
        elif connection.vendor == "sqlite":
            cursor.execute(f"PRAGMA analysis_limit = {SQLITE_ANALYSIS_LIMIT}")
            for table in tables:
                cursor.execute(f"ANALYZE {qn(table)}")


# A table is analysed again once this many rows changed since its last analysis, plus this share of
# its rows (autovacuum's rule, with its defaults of 50 and 10 % made less eager).
STALE_ROWS = 1000
STALE_SHARE = 0.1


def stale_statistics_refresh(now=None) -> str:
    """ANALYZE every table of this PostgreSQL database whose statistics have gone stale (a timed job).

    autovacuum does this when it is on and keeps up. Where it is off (it was, on the machine of
    the soak) or behind on the worst day, the tables the devices feed a few rows at a time are never
    analysed: in the soak, 101,340 samples were planned as a few hundred, and a town's untested
    export took 569 s instead of 0.24 s (docs/performance.md). Bulk batches analyse their tables
    themselves (:func:`analyze_after_bulk`); SQLite keeps no count of changes to go by, and its
    bulk-analysed statistics held in the soak.
    """
    if connection.vendor != "postgresql":
        return "no statistics to refresh on this database"
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT s.relname FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid "
            "WHERE s.schemaname = current_schema() "
            "AND s.n_mod_since_analyze > %s + %s * greatest(c.reltuples, 0) ORDER BY s.relname",
            [STALE_ROWS, STALE_SHARE],
        )
        tables = [row[0] for row in cursor.fetchall()]
        qn = connection.ops.quote_name
        for table in tables:
            cursor.execute(f"ANALYZE {qn(table)}")
    return f"analysed {len(tables)}" + (f": {', '.join(tables)}" if tables else "")


def loaded(model: type[Model], **values) -> Model:
    """An instance of ``model`` as if read from the database with only ``values`` (by attname);
    every other field is deferred and loads on access, like ``.only()``."""
    names = [f.attname for f in model._meta.concrete_fields if f.attname in values]
    unknown = set(values) - set(names)
    if unknown:
        raise ValueError(f"{model.__name__} has no field {sorted(unknown)}")
    return model.from_db(connection.alias, names, [values[n] for n in names])


_FETCH = 100_000


def query_arrow(sql: str, params, schema: pa.Schema, *, direct: bool = True) -> pa.Table:
    """Run ``sql`` and collect its rows into an Arrow table of ``schema``.

    On PostgreSQL, outside a transaction, the rows come straight as Arrow through ADBC (binary
    COPY, no Python object per value); otherwise through Django's cursor, a batch at a time.
    ``direct=False`` forces the cursor (a query that joins this connection's temporary tables).
    """
    if direct and connection.vendor == "postgresql" and not connection.in_atomic_block:
        return _query_adbc(sql, params, schema)
    batches = []
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(_FETCH):
            columns = list(zip(*rows, strict=True))
            arrays = [_array(values, f.type) for values, f in zip(columns, schema, strict=True)]
            batches.append(pa.RecordBatch.from_arrays(arrays, schema=schema))
    return pa.Table.from_batches(batches, schema=schema)


def _libpq_url() -> str:
    """The libpq URL of Django's own database (the test database under the test runner)."""
    from urllib.parse import quote

    s = connection.settings_dict
    auth = quote(s.get("USER") or "", safe="")
    if s.get("PASSWORD"):
        auth += ":" + quote(s["PASSWORD"], safe="")
    host = s.get("HOST") or "localhost"
    port = s.get("PORT") or 5432
    return f"postgresql://{auth}{'@' if auth else ''}{host}:{port}/{quote(s['NAME'], safe='')}"


def _query_adbc(sql: str, params, schema: pa.Schema) -> pa.Table:
    import adbc_driver_postgresql.dbapi as adbc

    numbered = iter(range(1, len(params) + 1))
    sql = re.sub("%s", lambda _: f"${next(numbered)}", sql)
    with adbc.connect(_libpq_url()) as con, con.cursor() as cur:
        cur.execute(sql, parameters=tuple(params) if params else None)
        table = cur.fetch_arrow_table()
    return pa.Table.from_arrays([table.column(i).cast(f.type) for i, f in enumerate(schema)], schema=schema)


def _array(values, typ: pa.DataType) -> pa.Array:
    """One column of fetched rows as Arrow, converted in C (never a Python call per value).

    Times: SQLite gives naive datetimes or text, both UTC (Django stores them so), PostgreSQL
    aware ones; Arrow reads a naive value into a UTC-typed column as UTC and converts aware ones.
    """
    first = next((v for v in values if v is not None), None)
    if isinstance(first, str) and (pa.types.is_timestamp(typ) or pa.types.is_date(typ)):
        base = pa.timestamp("us") if pa.types.is_timestamp(typ) else typ
        return pa.array(values, pa.string()).cast(base).cast(typ)
    if pa.types.is_boolean(typ) and type(first) is int:  # SQLite: 0/1
        return pa.array(values, pa.int8()).cast(typ)
    return pa.array(values, typ)


def as_text(column: str) -> str:
    """A date or time column as SQLite's stored text: without its declared type, the driver hands
    the text over instead of parsing each value in Python (2 M calls, ~2.7 s at 1 M people), and
    :func:`_array` converts the column in C. PostgreSQL's values come typed, at no such cost."""
    return f"CAST({column} AS TEXT)" if connection.vendor == "sqlite" else column


# What a database error means for the request that met it (config/load.py, core/commands.py):
# the database is busy (retry shortly), unreachable (retry when it is back), full, or damaged.
BUSY, DOWN, FULL, DAMAGED = "busy", "down", "full", "damaged"
_UNAVAILABLE = (
    (FULL, ("database or disk is full", "no space left on device", "could not extend file")),
    (
        DAMAGED,
        (
            "disk i/o error",
            "database disk image is malformed",
            "file is not a database",
            "could not read block",
            "invalid page in block",
        ),
    ),
    (BUSY, ("database is locked", "database table is locked", "database is busy")),
    (
        DOWN,
        (
            "connection refused",
            "could not connect",
            "server closed the connection",
            "terminating connection",
            "the connection is closed",
            "connection already closed",
            "the database system is starting up",
            "the database system is shutting down",
            "too many clients",
            "connection timeout",
            "connection failed",
        ),
    ),
)


# PostgreSQL says it by SQLSTATE too: disk_full, data_corrupted, index_corrupted.
_SQLSTATE = {"53100": FULL, "XX001": DAMAGED, "XX002": DAMAGED}


def unavailable(exc: BaseException) -> str | None:
    """``busy``, ``down``, ``full`` or ``damaged`` when ``exc`` says the database cannot serve now
    (not that the request was wrong); None for any other error."""
    from django.db import DatabaseError, InterfaceError

    if not isinstance(exc, DatabaseError | InterfaceError):
        return None
    code = error_name(exc)
    if code in _SQLSTATE:
        return _SQLSTATE[code]
    text = str(exc).lower()
    return next((kind for kind, needles in _UNAVAILABLE if any(n in text for n in needles)), None)


def error_name(exc: BaseException) -> str:
    """The driver's own name of a database error, for the log: SQLite's extended result code
    (``SQLITE_IOERR_SHORT_READ`` tells a short read from a failed fsync or lock), PostgreSQL's
    SQLSTATE; empty when the driver gives none."""
    seen = exc
    while seen is not None:
        name = getattr(seen, "sqlite_errorname", None) or getattr(seen, "sqlstate", None)
        if name:
            return str(name)
        seen = seen.__cause__
    return ""
