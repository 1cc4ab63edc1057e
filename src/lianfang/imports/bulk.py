"""Bulk writes that never go row by row through the ORM: executemany on SQLite, COPY on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

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
