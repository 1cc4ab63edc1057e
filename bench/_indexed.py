"""The indexed raw baseline: the rows a product phase wrote, loaded again into empty copies of the
product's own tables, with every index and constraint they have.

The bare raw baselines (COPY / executemany of the input files into tables with no index) measure
what the database costs to take the bytes in. No implementation that keeps the product's keys can
reach them: a unique (tube, person) index alone costs more than the bare load of both files on
PostgreSQL (docs/performance.md). This baseline measures the cheapest way to store the product's
*final* rows (already read, checked, joined and decided) in the product's schema:

1. :func:`id_marks` before and after each timed phase: the highest integer primary key of every
   table of every installed model (and the row count, to notice a table without one that grew).
2. :func:`indexed_load` afterwards: for every table whose key grew, the rows with a key above the
   phase's starting mark are read back (untimed), an empty copy of the table is created with all
   its indexes and constraints (PostgreSQL: ``CREATE TABLE … (LIKE t INCLUDING ALL)`` plus its
   foreign keys, which ``LIKE`` never copies; SQLite: the table's and its indexes' ``sql`` from
   ``sqlite_master`` replayed under the new name), and then, timed, every phase's rows are loaded
   into the copies in one transaction (PostgreSQL: COPY of the text ``COPY … TO STDOUT`` gave;
   SQLite: executemany of the rows as fetched, in slices, with the product's bulk page cache),
   and committed (deferred foreign-key checks run there). The copies are dropped.

Foreign keys of a copy point at the product's original tables: the rows keep their ids, so every
reference is satisfied and checked at the same cost. Rows the phase *updated* are loaded in
their final state; rows that existed before the phase and were only updated are not loaded.
"""

from __future__ import annotations

import re
import sys
import time

PREFIX = "bench_ix_"
SQLITE_SLICE = 200_000


def _tables():
    """(table, primary key column or None) of every installed model's table, once each."""
    from django.apps import apps

    seen: dict[str, str | None] = {}
    for model in apps.get_models(include_auto_created=True):
        meta = model._meta
        if meta.proxy or not meta.managed or meta.db_table in seen:
            continue
        auto = meta.pk.get_internal_type() in ("AutoField", "BigAutoField", "SmallAutoField")
        seen[meta.db_table] = meta.pk.column if auto else None
    return seen


def id_marks() -> dict[str, tuple[int, int]]:
    """{table: (highest integer key or 0, row count)} of every model table."""
    from django.db import connection

    qn = connection.ops.quote_name
    marks = {}
    with connection.cursor() as cursor:
        for table, pk in _tables().items():
            top = f"coalesce(max({qn(pk)}), 0)" if pk else "0"
            cursor.execute(f"SELECT {top}, count(*) FROM {qn(table)}")
            top_id, count = cursor.fetchone()
            marks[table] = (int(top_id), int(count))
    return marks


def written(marks: list[dict[str, tuple[int, int]]]) -> list[tuple[int, str, str, int, int]]:
    """Between consecutive marks: (phase index, table, key column, key above, key up to) of every
    table whose key grew. Tables without an integer key that grew are reported on stderr."""
    pks = _tables()
    out = []
    for i, (before, after) in enumerate(zip(marks, marks[1:], strict=False)):
        for table, (top, count) in after.items():
            low, was = before.get(table, (0, 0))
            if pks[table] is None:
                if count != was:
                    print(f"  note     {table} changed ({was:,} → {count:,} rows) but has no integer key: "
                          "not in the indexed baseline", file=sys.stderr)  # fmt: skip
            elif top > low:
                out.append((i, table, pks[table], low, top))
    return out


def _pg_copy_table(cursor, table: str, copy: str) -> None:
    cursor.execute(f'DROP TABLE IF EXISTS "{copy}"')
    cursor.execute(f'CREATE TABLE "{copy}" (LIKE "{table}" INCLUDING ALL)')
    cursor.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'f'",
        [f'"{table}"'],
    )
    for i, (_name, definition) in enumerate(cursor.fetchall()):
        cursor.execute(f'ALTER TABLE "{copy}" ADD CONSTRAINT "{copy}_fk{i}" {definition}')


def _sqlite_copy_table(cursor, table: str, copy: str) -> None:
    cursor.execute(f'DROP TABLE IF EXISTS "{copy}"')
    cursor.execute(
        "SELECT type, name, sql FROM sqlite_master WHERE tbl_name = %s AND sql IS NOT NULL "
        "ORDER BY type = 'index', name",
        [table],
    )
    for kind, name, sql in cursor.fetchall():
        if kind == "table":
            sql = re.sub(rf'^CREATE TABLE\s+"?{re.escape(table)}"?', f'CREATE TABLE "{copy}"', sql, count=1)
        elif kind == "index":
            sql = re.sub(
                rf'^(CREATE\s+(?:UNIQUE\s+)?INDEX)\s+"?{re.escape(name)}"?\s+ON\s+"?{re.escape(table)}"?',
                rf'\1 "{PREFIX}{name}" ON "{copy}"',
                sql,
                count=1,
            )
        else:
            continue
        if copy not in sql:
            raise RuntimeError(f"could not rename {kind} {name}: {sql[:120]}")
        cursor.execute(sql)


def indexed_load(spans: list[tuple[int, str, str, int, int]], phase_names: list[str]) -> dict:
    """Load the rows of ``spans`` (from :func:`written`) into indexed copies; see the module.

    Returns ``{"seconds": total (loads and commit), "commit": s, "by_phase": {phase: s of its
    loads}, "tables": [{"phase", "table", "rows", "seconds"}]}``.
    """
    from django.db import connection, transaction

    from lianfang.core.db import bulk_cache

    qn = connection.ops.quote_name
    pg = connection.vendor == "postgresql"
    tables = sorted({t for _, t, *_ in spans})
    with transaction.atomic(), connection.cursor() as cursor:
        for table in tables:
            (_pg_copy_table if pg else _sqlite_copy_table)(cursor, table, PREFIX + table)

    # Read back (untimed). PostgreSQL: the text COPY format, kept as bytes. SQLite: rows are
    # fetched a slice at a time inside the load below, and only the inserts are timed.
    exported: dict[tuple[int, str], list[bytes]] = {}
    rows: dict[tuple[int, str], int] = {}
    with connection.cursor() as cursor:
        for i, table, pk, low, top in spans:
            where = f"WHERE {qn(pk)} > {low} AND {qn(pk)} <= {top}"
            cursor.execute(f"SELECT count(*) FROM {qn(table)} {where}")
            rows[(i, table)] = cursor.fetchone()[0]
            if pg:
                chunks = []
                with cursor.cursor.copy(
                    f"COPY (SELECT * FROM {qn(table)} {where} ORDER BY {qn(pk)}) TO STDOUT"
                ) as cp:
                    for data in cp:
                        chunks.append(bytes(data))
                exported[(i, table)] = chunks

    detail = []
    by_phase = {name: 0.0 for name in phase_names}
    total_rows = sum(rows.values())
    try:
        started = time.perf_counter()
        with bulk_cache(total_rows):
            with transaction.atomic():
                with connection.cursor() as cursor:
                    for i, table, pk, low, top in spans:
                        copy = qn(PREFIX + table)
                        took = 0.0
                        if pg:
                            t0 = time.perf_counter()
                            with cursor.cursor.copy(f"COPY {copy} FROM STDIN") as cp:
                                for data in exported.pop((i, table)):
                                    cp.write(data)
                            took = time.perf_counter() - t0
                        else:
                            columns = [
                                c.name for c in connection.introspection.get_table_description(cursor, table)
                            ]
                            cols = ", ".join(qn(c) for c in columns)
                            marks = ", ".join(["%s"] * len(columns))
                            insert = f"INSERT INTO {copy} ({cols}) VALUES ({marks})"
                            reader = connection.connection.cursor()  # the sqlite3 cursor: plain rows
                            # ``+col``: an expression has no declared type, so the driver applies no
                            # converter; the values come back as stored (times as the backend's text).
                            plain = ", ".join(f"+{qn(c)}" for c in columns)
                            reader.execute(
                                f"SELECT {plain} FROM {qn(table)} WHERE {qn(pk)} > ? AND {qn(pk)} <= ? ORDER BY {qn(pk)}",
                                (low, top),
                            )
                            while batch := reader.fetchmany(SQLITE_SLICE):
                                t0 = time.perf_counter()
                                cursor.executemany(insert, batch)
                                took += time.perf_counter() - t0
                            reader.close()
                        by_phase[phase_names[i]] += took
                        detail.append(
                            {
                                "phase": phase_names[i],
                                "table": table,
                                "rows": rows[(i, table)],
                                "seconds": round(took, 3),
                            }
                        )
                commit_from = time.perf_counter()
            commit = time.perf_counter() - commit_from
        total = sum(by_phase.values()) + commit
        wall = time.perf_counter() - started
    finally:
        with transaction.atomic(), connection.cursor() as cursor:
            for table in tables:
                cursor.execute(f"DROP TABLE IF EXISTS {qn(PREFIX + table)}")
    for d in detail:
        print(
            f"  indexed  {d['phase']:<15} {d['table']:<28} {d['rows']:>10,} rows {d['seconds']:8.2f} s",
            file=sys.stderr,
        )
    print(
        f"  indexed  commit {commit:.2f} s; loads and commit {total:.2f} s (wall {wall:.2f} s)",
        file=sys.stderr,
    )
    return {
        "seconds": round(total, 3),
        "commit": round(commit, 3),
        "by_phase": {k: round(v, 3) for k, v in by_phase.items()},
        "tables": detail,
    }
