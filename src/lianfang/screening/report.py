"""The round report: read the round out of the database as Arrow tables, compute it with the
analytics engine (:mod:`lianfang.analytics.screening`, no Django), write FORMATS.md's files.

Only what the computation needs leaves the database: for people, their id, community, registered
flag and birth date; names, phones and addresses are fetched afterwards for the people listed.
"""

from __future__ import annotations

import re
from pathlib import Path

import pyarrow as pa
from django.db import connection
from django.utils import timezone

from lianfang.analytics.screening import RoundInput, RoundReport, round_report, write_report
from lianfang.geo.models import Division, Level
from lianfang.imports.bulk import temp_key_table
from lianfang.people.models import Person
from lianfang.screening.models import Result, Round, Sample, Site, Tube, TubePurpose

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


def _scope_sql(scope: list[str]) -> tuple[str, list]:
    """Registered people whose community lies in one of the scope codes (indexed columns first)."""
    parts, params = [], []
    for code in scope:
        column = {6: "county_code", 9: "town_code", 12: "community_id"}.get(len(code))
        if column:
            parts.append(f"p.{column} = %s")
            params.append(code)
        else:
            parts.append("p.county_code LIKE %s")
            params.append(code + "%")
    return "(" + " OR ".join(parts or ["1 = 0"]) + ")", params


UTC_US = pa.timestamp("us", tz="UTC")


def _as_text(column: str) -> str:
    """A date or time column as SQLite's stored text: without its declared type, the driver hands
    the text over instead of parsing each value in Python (2 M calls, ~2.7 s at 1 M people), and
    :func:`_array` converts the column in C. PostgreSQL's values come typed, at no such cost."""
    return f"CAST({column} AS TEXT)" if connection.vendor == "sqlite" else column


def round_input(rnd: Round) -> RoundInput:
    """Everything the report of ``rnd`` reads, from the database."""
    person, sample, tube, result, site = (m._meta.db_table for m in (Person, Sample, Tube, Result, Site))
    communities = Division.objects.filter(level=Level.COMMUNITY).values_list("code", "name")
    scope_where, scope_params = _scope_sql(list(rnd.scope))
    screening = TubePurpose.SCREENING
    birth_date, collected_at = _as_text("p.birth_date"), _as_text("s.collected_at")
    persons = query_arrow(
        f"SELECT p.id, p.community_id, p.registered, {birth_date} FROM {person} p "
        f"WHERE p.registered AND {scope_where} "
        f"UNION SELECT p.id, p.community_id, p.registered, {birth_date} FROM {person} p "
        f"WHERE p.id IN (SELECT s.person_id FROM {sample} s JOIN {tube} t ON t.id = s.tube_id "
        f"WHERE s.round_id = %s AND t.purpose = %s)",
        [*scope_params, rnd.id, screening],
        pa.schema(
            [
                ("person_id", pa.int64()),
                ("community_code", pa.string()),
                ("registered", pa.bool_()),
                ("birth_date", pa.date32()),
            ]
        ),
    )
    persons = persons.append_column("in_custody", pa.array([False] * persons.num_rows, pa.bool_()))
    tubes = query_arrow(
        f"SELECT t.id, t.barcode, coalesce(st.code, ''), t.box_code FROM {tube} t "
        f"LEFT JOIN {site} st ON st.id = t.site_id WHERE t.round_id = %s AND t.purpose = %s",
        [rnd.id, screening],
        pa.schema(
            [
                ("tube_id", pa.int64()),
                ("tube_barcode", pa.string()),
                ("site_code", pa.string()),
                ("box_code", pa.string()),
            ]
        ),
    )
    samples = query_arrow(
        f"SELECT s.tube_id, s.person_id, {collected_at} FROM {sample} s JOIN {tube} t ON t.id = s.tube_id "
        "WHERE s.round_id = %s AND t.purpose = %s",
        [rnd.id, screening],
        pa.schema([("tube_id", pa.int64()), ("person_id", pa.int64()), ("collected_at", UTC_US)]),
    )
    results = query_arrow(
        f"SELECT t.id, r.result FROM {result} r JOIN {tube} t ON t.barcode = r.tube_barcode "
        "WHERE t.round_id = %s AND t.purpose = %s",
        [rnd.id, screening],
        pa.schema([("tube_id", pa.int64()), ("result", pa.string())]),
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT COUNT(*) FROM {result} r WHERE NOT EXISTS (SELECT 1 FROM {tube} t WHERE t.barcode = r.tube_barcode)"
        )
        held = cursor.fetchone()[0]
    codes = [c for c, _ in communities]
    return RoundInput(
        round_code=rnd.code,
        start_date=timezone.localtime(rnd.starts_at).date(),
        scope=list(rnd.scope),
        communities=pa.table(
            {
                "community_code": codes,
                "community_name": [n for _, n in communities],
                "town_code": [c[:9] for c in codes],
                "county_code": [c[:6] for c in codes],
            }
        ),
        persons=persons,
        tubes=tubes,
        samples=samples,
        results=results,
        results_held=held,
        details=person_details,
    )


def person_details(ids: pa.Array) -> pa.Table:
    """ID, name, phone, address and tags of the given people (the report's lists)."""
    schema = pa.schema(
        [
            ("person_id", pa.int64()),
            ("id_type", pa.string()),
            ("id_number", pa.string()),
            ("name", pa.string()),
            ("phone", pa.string()),
            ("address", pa.string()),
            ("tags", pa.string()),
        ]
    )
    temp_key_table("detail_keys", ["k"], ((str(i),) for i in ids.to_pylist()))
    table = query_arrow(
        f"SELECT p.id, p.id_type, p.id_number, p.name, p.phone, p.address, p.tags FROM {Person._meta.db_table} p "
        "JOIN detail_keys k ON CAST(k.k AS INTEGER) = p.id",
        [],
        schema,
        direct=False,
    )
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS detail_keys")
    return table


def round_report_compute(rnd: Round) -> RoundReport:
    return round_report(round_input(rnd))


def round_report_write(*, rnd: Round, out_dir: Path) -> RoundReport:
    """``lianfang round report``: compute and write the five files of FORMATS.md."""
    report = round_report_compute(rnd)
    write_report(report, Path(out_dir))
    return report
