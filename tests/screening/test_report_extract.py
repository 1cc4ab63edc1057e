"""The report reads PostgreSQL through ADBC outside a transaction: the same tables as the cursor path."""

from __future__ import annotations

import pyarrow as pa
import pytest
from django.db import connection, transaction

from lianfang.core import db
from lianfang.screening import report, services
from lianfang.screening.models import Round, Site
from tests.conftest import JJ_COMMUNITY, make_person, rid
from tests.screening.helpers import ROUND_START


def test_adbc_and_cursor_paths_read_the_same_round(transactional_db, monkeypatch):
    # (the fixture by name: conftest reloads the divisions after another test's flush)
    if connection.vendor != "postgresql":
        pytest.skip("the direct Arrow path is PostgreSQL's")
    ids = [rid("350582", "20210101", f"{i:03d}") for i in range(3)]
    for i in ids:
        make_person(id_number=i)
    services.round_open(actor=None, code="RA", name="a", scope=[JJ_COMMUNITY[:6]], starts_at=ROUND_START)
    Site.objects.create(
        code="SA",
        name="a",
        community_id=JJ_COMMUNITY,
        town_code=JJ_COMMUNITY[:9],
        county_code=JJ_COMMUNITY[:6],
    )
    services.samples_import(
        table=pa.table(
            {
                "round_code": ["RA", "RA"],
                "tube_barcode": ["TA", "TA"],
                "pool_size": ["5", "5"],
                "id_number": ids[:2],
                "site_code": ["SA", "SA"],
                "collected_at": ["2022-03-28 08:00", "2022-03-28T01:30:00Z"],
            }
        ),
        actor=None,
    )
    rnd = Round.objects.get(code="RA")
    assert not connection.in_atomic_block
    calls = []
    real = db._query_adbc
    monkeypatch.setattr(db, "_query_adbc", lambda *a: calls.append(a) or real(*a))
    direct = report.round_input(rnd)
    assert calls, "the ADBC path was not taken"
    monkeypatch.setattr(db, "_query_adbc", lambda *a: pytest.fail("cursor path expected"))
    with transaction.atomic():  # inside a transaction ADBC would not see its rows: the cursor is used
        via_cursor = report.round_input(rnd)
    for name in ("persons", "tubes", "samples", "results"):
        a = getattr(direct, name).sort_by([(getattr(direct, name).column_names[0], "ascending")])
        b = getattr(via_cursor, name).sort_by([(getattr(via_cursor, name).column_names[0], "ascending")])
        assert a.equals(b), name
    assert direct.samples.column("collected_at").to_pylist()[0].hour in (0, 1)  # stored in UTC
