"""A big samples file goes in slices; the outcome must be exactly the whole file's."""

from __future__ import annotations

import pyarrow as pa
import pytest
from django.db import transaction

from lianfang.screening import services
from lianfang.screening.models import Sample, Site
from lianfang.screening.services import samples
from tests.conftest import JJ_COMMUNITY, rid
from tests.screening.helpers import ROUND_START

IDS = [rid("350582", "19850101", f"{i:03d}") for i in range(8)]


def _rows():
    rows = []
    for k, (barcode, pool, person) in enumerate(
        [
            ("C1", "5", 0),
            ("C1", "5", 1),
            ("C2", "1", 2),
            ("C1", "5", 0),  # duplicate across the first slice
            ("C2", "1", 3),  # over capacity, tube defined in an earlier slice
            ("C1", "10", 4),  # pool size conflict with a tube from an earlier slice
            ("C3", "5", 5),
            ("C1", "5", 6),
            ("C1", "5", 7),
            ("C1", "5", 5),  # C1 reaches 5 with person 5
            ("C1", "5", 2),  # the sixth distinct person: over capacity
        ]
    ):
        rows.append(
            {
                "round_code": "RC",
                "tube_barcode": barcode,
                "pool_size": pool,
                "id_number": IDS[person],
                "site_code": "SC",
                "collected_at": f"2022-03-28 08:{k:02d}",
            }
        )
    return pa.Table.from_pylist(rows)


def _run(monkeypatch, chunk: int, staged: bool = False):
    monkeypatch.setattr(samples, "CHUNK_ROWS", chunk)
    # staged: the file path (accepted rows staged slice by slice, joined once at the end), which
    # a real file takes beyond SMALL_BATCH rows; otherwise each slice is written at once.
    monkeypatch.setattr(samples, "SMALL_BATCH", 0 if staged else 200)
    with transaction.atomic():
        summary, outcomes = services.samples_import(table=_rows(), actor=None)
        stored = sorted(Sample.objects.values_list("tube__barcode", "person__id_number"))
        transaction.set_rollback(True)
    return summary.as_dict(), list(outcomes), stored


@pytest.mark.django_db
def test_slices_decide_like_the_whole_file(monkeypatch):
    services.round_open(actor=None, code="RC", name="c", scope=[JJ_COMMUNITY[:6]], starts_at=ROUND_START)
    Site.objects.create(
        code="SC",
        name="c",
        community_id=JJ_COMMUNITY,
        town_code=JJ_COMMUNITY[:9],
        county_code=JJ_COMMUNITY[:6],
    )
    whole = _run(monkeypatch, 1_000_000)
    assert whole[1] == [
        "accepted",
        "accepted",
        "accepted",
        "duplicate",
        "tube_over_capacity",
        "pool_size_conflict",
        "accepted",
        "accepted",
        "accepted",
        "accepted",
        "tube_over_capacity",
    ]
    for chunk in (1, 2, 3, 4):
        assert _run(monkeypatch, chunk) == whole, chunk
        assert _run(monkeypatch, chunk, staged=True) == whole, ("staged", chunk)
    assert _run(monkeypatch, 1_000_000, staged=True) == whole
