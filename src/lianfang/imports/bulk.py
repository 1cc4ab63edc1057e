"""Bulk writes that never go row by row through the ORM: executemany on SQLite, COPY on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager

import pyarrow as pa
from django.db import connection


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
    """Refresh PostgreSQL's planner statistics after a big batch (call after the commit).

    Autovacuum gets there eventually; until it does, a table that grew from nothing to millions
    of rows is planned as if it were empty, and pages that join it take minutes instead of
    milliseconds. SQLite plans from its indexes and needs nothing here.
    """
    if rows <= threshold or connection.vendor != "postgresql" or connection.in_atomic_block:
        return
    qn = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {', '.join(qn(t) for t in tables)}")
