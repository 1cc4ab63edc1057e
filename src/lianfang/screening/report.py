"""The round report: read the round out of the database as Arrow tables, compute it with the
analytics engine (:mod:`lianfang.analytics.screening`, no Django), write FORMATS.md's files.

Only what the computation needs leaves the database: for people, their id, community, registered
flag and birth date; names, phones and addresses are fetched afterwards for the people listed.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
from django.db import connection
from django.utils import timezone

from lianfang.analytics.screening import RoundInput, RoundReport, round_report, write_report
from lianfang.core import codes, plugins
from lianfang.core.db import as_text, query_arrow, temp_key_table
from lianfang.geo.models import Division, Level
from lianfang.people.models import Person
from lianfang.screening.models import Result, Round, Sample, Site, Tube, TubePurpose

UTC_US = pa.timestamp("us", tz="UTC")


def round_input(rnd: Round) -> RoundInput:
    """Everything the report of ``rnd`` reads, from the database."""
    person, sample, tube, result, site = (m._meta.db_table for m in (Person, Sample, Tube, Result, Site))
    communities = Division.objects.filter(level=Level.COMMUNITY).values_list("code", "name")
    scope_where, scope_params = codes.where(list(rnd.scope), "p")
    screening = TubePurpose.SCREENING
    birth_date, collected_at = as_text("p.birth_date"), as_text("s.collected_at")
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
    persons = persons.append_column("in_custody", _in_custody(persons.column("person_id"), rnd.starts_at))
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
    community_codes = [c for c, _ in communities]
    return RoundInput(
        round_code=rnd.code,
        start_date=timezone.localtime(rnd.starts_at).date(),
        exempt_under_years=rnd.protocol.screening.exempt_under_years,
        scope=list(rnd.scope),
        communities=pa.table(
            {
                "community_code": community_codes,
                "community_name": [n for _, n in communities],
                "town_code": [codes.town(c) for c in community_codes],
                "county_code": [codes.county(c) for c in community_codes],
            }
        ),
        persons=persons,
        tubes=tubes,
        samples=samples,
        results=results,
        results_held=held,
        details=person_details,
    )


def _in_custody(person_ids: pa.ChunkedArray, at) -> pa.Array:
    """Who is in custody at the round's start, by every app that states it (the ``in_custody``
    family of facts, e.g. custody's check-ins): screening names none of them."""
    held: set[int] = set()
    for in_custody in plugins.providers("in_custody"):
        held.update(in_custody(at))
    if not held:
        return pa.array([False] * len(person_ids), pa.bool_())
    return pc.is_in(person_ids, value_set=pa.array(sorted(held), pa.int64()))


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
