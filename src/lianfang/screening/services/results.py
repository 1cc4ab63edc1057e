"""results.csv, web uploads of it and labs' batches: held until their tube is known, then matched."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from django.db import transaction
from django.utils import timezone

from lianfang.accounts.scoping import Actor
from lianfang.core.db import analyze_after_bulk, bulk_cache, insert_arrow
from lianfang.core.fields import CODE, NUMBER, TIME, Column, parsed, screened, stored
from lianfang.core.summary import ImportSummary
from lianfang.core.times import parse_time
from lianfang.screening import rules
from lianfang.screening.models import Lab, Result, Tube
from lianfang.screening.services import ingest
from lianfang.screening.services.errors import require
from lianfang.screening.services.followup import tubes_refresh
from lianfang.screening.services.ingest import Progress, _lock_ingest, _summary_audited, _with_keys


def import_columns() -> dict[str, Column]:
    """The rule of each column of results.csv (and a lab's rows), from the fields it is stored in."""
    return {
        "tube_barcode": stored(Result._meta.get_field("tube_barcode"), CODE),
        "lab_code": stored(Lab._meta.get_field("code"), CODE),
        "result": parsed(),
        "ct_orf1ab": parsed(NUMBER),
        "ct_n": parsed(NUMBER),
        "reported_at": parsed(TIME),
    }


@screened(import_columns)
def results_import(
    *,
    table: pa.Table,
    actor: Actor | None,
    source: str = "",
    progress: Progress | None = None,
    lab: Lab | None = None,
) -> tuple[ImportSummary, np.ndarray]:
    """Import lab result rows (results.csv, a web upload, a lab's API batch). Returns (summary, outcomes).

    ``actor`` None is the server's authority; otherwise the role must be one of ``results.import``.
    ``lab``: a lab device may only post its own results; any other lab code is ``unknown_lab``.
    """
    require(actor, "results.import")
    raw = rules.text_table(table, rules.RESULT_COLUMNS)
    n = raw.num_rows
    if progress:
        progress(0, n)
    barcodes = sorted({b for b in raw.column("tube_barcode").to_pylist() if b})
    with transaction.atomic(), bulk_cache(n):
        _lock_ingest(barcodes)
        labs = Lab.objects.filter(pk=lab.pk) if lab is not None else Lab.objects.all()
        known = _known_barcodes(barcodes)
        decided = rules.results_decide(
            raw,
            labs=pa.Table.from_pylist(
                [{"code": c, "lab_id": i} for c, i in labs.values_list("code", "id")],
                schema=pa.schema([("code", pa.string()), ("lab_id", pa.int64())]),
            ),
            known_fingerprints=pa.table(
                {"fingerprint": pa.array(_known_fingerprints(barcodes), pa.string())}
            ),
            known_tubes=pa.table({"barcode": pa.array(known, pa.string())}),
            parse_time=parse_time,
        )
        new = decided["new"]
        if new.num_rows:
            insert_arrow(
                Result._meta.db_table,
                new.select(
                    ["barcode", "lab_id", "result", "ct_orf1ab", "ct_n", "reported_at", "fingerprint"]
                ).append_column(
                    "received_at", pa.array([timezone.now()] * new.num_rows, pa.timestamp("us", tz="UTC"))
                ),
                [
                    "tube_barcode",
                    "lab_id",
                    "result",
                    "ct_orf1ab",
                    "ct_n",
                    "reported_at",
                    "fingerprint",
                    "received_at",
                ],
            )
            matched = sorted(set(new.column("barcode").to_pylist()) & set(known))
            if matched:
                tubes_refresh(barcodes=matched)
        summary = _summary_audited(actor=actor, kind="results", source=source, outcomes=decided["outcomes"])
    if progress:
        progress(n, n)
    analyze_after_bulk([Result._meta.db_table, Tube._meta.db_table], n)
    return summary, decided["outcomes"].column("outcome").to_numpy(zero_copy_only=False)


def _known_fingerprints(barcodes: list[str]) -> list[str]:
    table = Result._meta.db_table
    if not barcodes or not Result.objects.exists():
        return []
    if len(barcodes) <= ingest.BIG_BATCH:
        return list(Result.objects.filter(tube_barcode__in=barcodes).values_list("fingerprint", flat=True))
    return [
        r[0]
        for r in _with_keys(
            "result_keys",
            barcodes,
            f"SELECT r.fingerprint FROM {table} r JOIN result_keys k ON k.k = r.tube_barcode",
        )
    ]


def _known_barcodes(barcodes: list[str]) -> list[str]:
    if not barcodes or not Tube.objects.exists():
        return []
    if len(barcodes) <= ingest.BIG_BATCH:
        return list(Tube.objects.filter(barcode__in=barcodes).values_list("barcode", flat=True))
    return [
        r[0]
        for r in _with_keys(
            "known_keys",
            barcodes,
            f"SELECT t.barcode FROM {Tube._meta.db_table} t JOIN known_keys k ON k.k = t.barcode",
        )
    ]
