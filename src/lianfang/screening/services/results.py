"""results.csv, web uploads of it and labs' batches: held until their tube is known, then matched."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from django.db import models, transaction
from django.utils import timezone

from lianfang.accounts.scoping import Actor
from lianfang.core.db import analyze_after_bulk, bulk_cache, insert_arrow
from lianfang.core.fields import CODE, NUMBER, TIME, Column, parsed, screened, stored
from lianfang.core.summary import ImportSummary
from lianfang.core.times import naive_utc, parse_time
from lianfang.screening import rules
from lianfang.screening.models import Lab, Result, Round, Tube
from lianfang.screening.services import ingest
from lianfang.screening.services.clock import earliest_plausible, latest_plausible
from lianfang.screening.services.errors import city_wide, require
from lianfang.screening.services.followup import tubes_refresh
from lianfang.screening.services.ingest import Progress, _lock_ingest, _summary_audited, _with_keys


def import_columns() -> dict[str, Column]:
    """The rule of each column of results.csv (and a lab's rows), from the fields it is stored in."""
    ct = ("数字，可留空", "a number, or blank")
    return {
        "tube_barcode": stored(
            Result._meta.get_field("tube_barcode"), CODE, label="管码", example="T000123456", required=True
        ),
        "lab_code": stored(
            Lab._meta.get_field("code"), CODE, label="检测机构编号", example="LAB-01", required=True
        ),
        "result": parsed(
            label="检测结果",
            example="阴性",
            required=True,
            allowed=(
                ("negative", "阴性", "negative"),
                ("positive", "阳性", "positive"),
                ("inconclusive", "可疑", "inconclusive"),
                ("invalid", "无效", "invalid"),
            ),
        ),
        "ct_orf1ab": parsed(NUMBER, label="ORF1ab基因Ct值", example="", note=ct),
        "ct_n": parsed(NUMBER, label="N基因Ct值", example="", note=ct),
        "reported_at": parsed(
            TIME,
            label="报告时间",
            example="2022-03-26 14:00",
            required=True,
            note=("年-月-日 时:分，北京时间", "YYYY-MM-DD HH:MM, Beijing time"),
        ),
    }


@screened(import_columns)
def results_import(
    *,
    table: pa.Table,
    actor: Actor | None,
    source: str = "",
    progress: Progress | None = None,
    lab: Lab | None = None,
    live: bool = False,
) -> tuple[ImportSummary, np.ndarray]:
    """Import lab result rows (results.csv, a web upload, a lab's API batch). Returns (summary, outcomes).

    ``live``: a lab system posting results as they come may not date them before their tube's
    round started (``before_round``); a file may (:func:`clock.earliest_plausible`).

    ``actor`` None is the server's authority; otherwise the role must be one of ``results.import``.
    ``lab``: a lab device may only post its own results; any other lab code is ``unknown_lab``.
    A row for a registered tube outside the actor's jurisdiction (its site's, or for a re-check
    tube its task's) is ``tube_out_of_jurisdiction``: another county's tube takes no result from
    this actor, and its stored results are not told (no ``duplicate`` either). A result for a tube
    not registered yet is held only from the server, a lab's device or a city-wide actor: a held
    result lands on whichever tube takes the barcode later, in any county. From anyone else it is
    ``tube_out_of_jurisdiction`` too (not there and not yours answer alike).
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
        known_starts = _known_barcodes(barcodes)
        known = [b for b, _ in known_starts]
        decided = rules.results_decide(
            raw,
            labs=pa.Table.from_pylist(
                [{"code": c, "lab_id": i} for c, i in labs.values_list("code", "id")],
                schema=pa.schema([("code", pa.string()), ("lab_id", pa.int64())]),
            ),
            known_fingerprints=pa.table(
                {"fingerprint": pa.array(_known_fingerprints(barcodes), pa.string())}
            ),
            known_tubes=pa.table(
                {
                    "barcode": pa.array(known, pa.string()),
                    "earliest": pa.array(
                        [naive_utc(earliest_plausible(s, live=live)) for _, s in known_starts],
                        pa.timestamp("us"),
                    ),
                }
            ),
            parse_time=parse_time,
            latest=naive_utc(latest_plausible()),
        )
        if actor is not None and known:
            decided = _foreign_refused(decided, raw, set(known) - _writable(actor, known))
        if actor is not None and lab is None and not city_wide(actor):
            decided = _foreign_refused(decided, raw, set(barcodes) - set(known), ("held", "duplicate"))
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


def _writable(actor: Actor, barcodes: list[str]) -> set[str]:
    """The tubes among ``barcodes`` the actor may report on: sampled at a site in their
    jurisdiction, or the single tube of a re-check task assigned inside it."""
    from lianfang.accounts.scoping import inside_q
    from lianfang.core.codes import COLUMN_OF_LENGTH

    site = inside_q(actor.codes, {n: f"site__{c}" for n, c in COLUMN_OF_LENGTH.items()})
    task = inside_q(actor.codes, {n: f"task__{c}" for n, c in COLUMN_OF_LENGTH.items()})
    found: set[str] = set()
    for chunk in ingest._chunks(barcodes):
        found.update(
            Tube.objects.filter(barcode__in=chunk)
            .filter(site | (models.Q(site__isnull=True) & task))
            .values_list("barcode", flat=True)
        )
    return found


def _foreign_refused(
    decided: dict[str, pa.Table], raw: pa.Table, foreign: set[str], kinds=("accepted", "duplicate")
) -> dict:
    """Rows of ``foreign`` barcodes whose outcome is one of ``kinds`` become
    ``tube_out_of_jurisdiction``, and nothing of them is stored."""
    if not foreign:
        return decided
    barcode_of = raw.column("tube_barcode").to_pylist()
    outcomes = decided["outcomes"]
    changed = [
        "tube_out_of_jurisdiction" if barcode_of[pos] in foreign and outcome in kinds else outcome
        for pos, outcome in zip(
            outcomes.column("pos").to_pylist(), outcomes.column("outcome").to_pylist(), strict=True
        )
    ]
    new = decided["new"]
    keep = pc.invert(pc.is_in(new.column("barcode"), value_set=pa.array(sorted(foreign), pa.string())))
    return {
        **decided,
        "outcomes": outcomes.set_column(
            outcomes.schema.get_field_index("outcome"), "outcome", pa.array(changed, pa.string())
        ),
        "new": new.filter(keep),
    }


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


def _known_barcodes(barcodes: list[str]) -> list[tuple[str, object]]:
    """The registered tubes among ``barcodes``, with when their round started."""
    if not barcodes or not Tube.objects.exists():
        return []
    if len(barcodes) <= ingest.BIG_BATCH:
        return list(Tube.objects.filter(barcode__in=barcodes).values_list("barcode", "round__starts_at"))
    return [
        (r[0], r[1])
        for r in _with_keys(
            "known_keys",
            barcodes,
            f"SELECT t.barcode, r.starts_at FROM {Tube._meta.db_table} t JOIN known_keys k ON k.k = t.barcode "
            f"JOIN {Round._meta.db_table} r ON r.id = t.round_id",
        )
    ]
