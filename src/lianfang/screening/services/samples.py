"""samples.csv, web uploads of it and devices' batches: decided by the rules, stored in one transaction.

A device's batch (at most :data:`SMALL_BATCH` rows) is decided by the plain-loop twin of the
rules and written in plain SQL; a file is decided in slices of :data:`CHUNK_ROWS` rows by DuckDB,
its accepted rows staged and joined to tubes and people in the database.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from django.core.exceptions import EmptyResultSet
from django.db import connection, transaction
from django.utils import timezone

from lianfang import protocol
from lianfang.accounts.scoping import Actor
from lianfang.core.db import analyze_after_bulk, bulk_cache, insert_arrow
from lianfang.core.fields import CODE, NUMBER, TEXT, TIME, Column, parsed, screened, stored
from lianfang.core.summary import ImportSummary
from lianfang.core.times import naive_utc, parse_time
from lianfang.people import idnumbers
from lianfang.people.idnumbers import validate_resident_ids_arrow
from lianfang.people.models import IdType, Person
from lianfang.people.normalize import ID_TYPE_ALIASES
from lianfang.people.services import persons_create_unregistered
from lianfang.screening import rules
from lianfang.screening.models import Round, RoundStatus, Sample, Site, Tube, TubePurpose, TubeState
from lianfang.screening.services import ingest
from lianfang.screening.services.clock import earliest_plausible, latest_plausible
from lianfang.screening.services.errors import require
from lianfang.screening.services.followup import tubes_refresh
from lianfang.screening.services.ingest import (
    _STAGE_SCHEMA,
    Progress,
    _arrow_rows,
    _db_time,
    _lock_ingest,
    _rows,
    _stage_create,
    _stage_end,
    _summary_audited,
    _with_keys,
)

# Batches up to this size (a device's tube or buffer) are decided and written without DuckDB
# and without staging tables: the fixed costs would dominate such a request.
SMALL_BATCH = 200
# A samples file is decided and written in slices of this many rows (memory), in one transaction.
CHUNK_ROWS = 500_000


def import_columns() -> dict[str, Column]:
    """The rule of each column of samples.csv (and a device's rows): the length of the model field
    it is stored in or looked up against, no control characters, its Parquet types."""
    field = {
        "round_code": Round._meta.get_field("code"),
        "tube_barcode": Tube._meta.get_field("barcode"),
        "id_type": Person._meta.get_field("id_type"),
        "id_number": Person._meta.get_field("id_number"),
        "name": Person._meta.get_field("name"),
        "site_code": Site._meta.get_field("code"),
        "box_code": Tube._meta.get_field("box_code"),
    }
    types = {"pool_size": NUMBER, "collected_at": TIME, "id_type": TEXT, "name": TEXT}
    return {
        c: stored(field[c], types.get(c, CODE), **SAMPLE_GUIDE[c])
        if c in field
        else parsed(types[c], **SAMPLE_GUIDE[c])
        for c in rules.SAMPLE_COLUMNS
    }


_TIME_NOTE = (
    "年-月-日 时:分，北京时间（如 2022-03-26 08:30）",
    "YYYY-MM-DD HH:MM, Beijing time (e.g. 2022-03-26 08:30)",
)
# How a person fills samples.csv in (the upload page and the template; lianfang.core.fields.Column).
SAMPLE_GUIDE = {
    "round_code": {
        "label": "轮次编号",
        "example": "QZ-2022-03-26",
        "required": True,
        "note": ("进行中的轮次的编号，见“核酸筛查”页", "the code of an open round, as on the screening page"),
    },
    "tube_barcode": {
        "label": "管码",
        "example": "T000123456",
        "required": True,
        "note": ("同一管的每个人各占一行", "one row per person in the tube"),
    },
    "pool_size": {
        "label": "混采数",
        "example": "10",
        "required": True,
        "note": (
            "轮次所用防控方案允许的混采数（见“防控方案”页），同一管各行相同",
            "a pool size the round's protocol edition allows (see the protocol page), the same on every row of a tube",
        ),
    },
    "id_type": {
        "label": "证件类型",
        "example": "居民身份证",
        "note": ("留空即居民身份证", "blank means a resident ID"),
        "allowed": tuple((t.value, str(t.label), t.value) for t in IdType),
    },
    "id_number": {
        "label": "证件号码",
        "example": "350582198001011237",
        "required": True,
        "note": ("在 Excel 中请把该列设为“文本”格式", "in Excel format the column as Text"),
    },
    "name": {
        "label": "姓名",
        "example": "陈建国",
        "note": ("底数中没有的人员请填写", "fill in for a person not in the registry"),
    },
    "site_code": {"label": "采样点编号", "example": "JJ-QY-01", "required": True},
    "collected_at": {
        "label": "采样时间",
        "example": "2022-03-26 08:30",
        "required": True,
        "note": _TIME_NOTE,
    },
    "box_code": {"label": "转运箱号", "example": "BOX-0001"},
}


@screened(import_columns)
def samples_import(
    *,
    table: pa.Table,
    actor: Actor | None,
    source: str = "",
    progress: Progress | None = None,
    site: Site | None = None,
    live: bool = False,
) -> tuple[ImportSummary, np.ndarray]:
    """Import sample rows (samples.csv, a web upload, a device batch). Returns (summary, outcomes).

    ``outcomes`` holds per input row ``accepted``, ``duplicate`` or the rejection reason.
    ``actor`` None is the server's authority (the CLI); otherwise the actor's role must be one of
    ``samples.import`` (else ``NotPermitted``), and rounds and sites outside the actor's
    jurisdiction are unknown to them. ``site``: a site device may only write for its site.
    ``live``: the rows come from a device as they are taken, and may not predate their round
    (``before_round``; a file may: :func:`clock.earliest_plausible`).
    """
    require(actor, "samples.import")
    n = table.num_rows
    if progress:
        progress(0, n)
    # A device's batch locks its own tubes; anything bigger is a file and locks the ingest.
    barcodes = None
    if n <= ingest.BIG_BATCH:
        column = rules.text_table(table, ("tube_barcode",)).column("tube_barcode")
        barcodes = sorted({b for b in column.to_pylist() if b})
    parts = []
    with transaction.atomic(), bulk_cache(n):
        _lock_ingest(barcodes)
        rounds = Round.objects.all() if actor is None else Round.objects.visible_to(actor)
        sites = Site.objects.all() if actor is None else Site.objects.visible_to(actor)
        if site is not None:
            sites = sites.filter(pk=site.pk)
        # A big file goes in slices, in file order, all in this one transaction: each slice sees
        # what the slices before it stored or staged (tubes, members), so the outcome is the
        # file's, and the memory is a slice's (its cells are trimmed slice by slice too). Its
        # accepted rows are staged, then joined to the registry. PostgreSQL joins once, at the
        # end: it answers each join with a scan of the whole registry (40 scans of 10 M people
        # for a 10 M-row file, joined per slice). SQLite joins through index look-ups and keeps
        # temporary tables in memory, so it joins each slice at once (a whole file staged held
        # ~2 GB at 10 M rows).
        staged = n > SMALL_BATCH
        per_slice = connection.vendor != "postgresql"
        touched: set[int] = set()
        if staged:
            _stage_create(indexed=not per_slice)
        for offset in range(0, max(n, 1), CHUNK_ROWS):
            part = rules.text_table(table.slice(offset, CHUNK_ROWS), rules.SAMPLE_COLUMNS)
            parts.append(
                _samples_part(
                    part,
                    rounds=rounds,
                    sites=sites,
                    staged=staged,
                    scoped=actor is not None or site is not None,
                    live=live,
                )
            )
            if staged and per_slice:
                touched.update(_stage_flush())
                _stage_end(drop=False)
            if progress:
                progress(min(offset + CHUNK_ROWS, n), n)
        if staged:
            if not per_slice:
                touched.update(_stage_flush())
            _stage_end(drop=True)
            if touched:
                tubes_refresh(tube_ids=sorted(touched), members_changed=True)
        outcomes_table = _id_hints(pa.concat_tables(parts), table)
        summary = _summary_audited(actor=actor, kind="samples", source=source, outcomes=outcomes_table)
    # The registry only gains the few unregistered people sampled: its statistics stand.
    analyze_after_bulk([Tube._meta.db_table, Sample._meta.db_table], n)
    return summary, outcomes_table.column("outcome").to_numpy(zero_copy_only=False)


def _id_hints(outcomes: pa.Table, table: pa.Table) -> pa.Table:
    """``invalid_id_number`` made the reason the number shows (people.idnumbers.problem): full-width
    digits, spaces, Excel's scientific notation, an implausible birth year. Outcomes are in the
    table's order; only the invalid rows are looked at."""
    column = outcomes.column("outcome")
    bad = np.flatnonzero(np.asarray(pc.equal(column, "invalid_id_number").to_numpy(zero_copy_only=False)))
    if not len(bad) or "id_number" not in table.column_names:
        return outcomes
    numbers = pc.utf8_trim_whitespace(table.column("id_number").take(pa.array(bad))).to_pylist()
    values = column.to_numpy(zero_copy_only=False).astype(object)
    today = timezone.localdate()
    values[bad] = [idnumbers.problem(v or "", today=today) for v in numbers]
    index = outcomes.column_names.index("outcome")
    return outcomes.set_column(index, "outcome", pa.array(values, pa.string()))


def _samples_part(
    raw: pa.Table, *, rounds, sites, staged: bool = False, scoped: bool = False, live: bool = False
) -> pa.Table:
    """Decide and store (or stage) one slice of a samples batch; returns its (pos, outcome) table.

    ``scoped``: the writer is an actor (or a device), whose ``sites`` are the ones they may write
    for; a stored tube of any other site is not theirs to add to (:func:`_foreign_tubes_refused`)."""
    n = raw.num_rows
    rid_ok = validate_resident_ids_arrow(raw.column("id_number"), today=timezone.localdate())
    barcodes = sorted({b for b in raw.column("tube_barcode").to_pylist() if b})
    site_codes = {s for s in raw.column("site_code").to_pylist() if s}
    round_codes = {c for c in raw.column("round_code").to_pylist() if c}
    decide = rules.samples_decide_small if n <= SMALL_BATCH else rules.samples_decide
    latest = naive_utc(latest_plausible())
    existing, members = _existing(barcodes, staged=staged)
    known = _rounds_and_sites(
        rounds.filter(code__in=round_codes).values_list("code", "id", "status", "edition", "starts_at"),
        sites.filter(code__in=site_codes).values_list("code", "id"),
    )
    decided = decide(
        raw,
        rid_ok=rid_ok,
        id_type_aliases={k: str(v) for k, v in ID_TYPE_ALIASES.items()},
        rounds=pa.Table.from_pylist(
            [
                {
                    "code": c,
                    "round_id": i,
                    "is_open": s == RoundStatus.OPEN,
                    "pool_sizes": [float(n) for n in protocol.edition(e).screening.sample_pool_sizes],
                    "earliest": naive_utc(earliest_plausible(start, live=live)),
                }
                for c, i, s, e, start in known["round"]
            ],
            schema=ROUNDS_SCHEMA,
        ),
        sites=pa.Table.from_pylist(
            [{"code": c, "site_id": i} for c, i, *_ in known["site"]],
            schema=pa.schema([("code", pa.string()), ("site_id", pa.int64())]),
        ),
        existing_tubes=existing,
        existing_members=members,
        parse_time=parse_time,
        latest=latest,
    )
    if scoped:
        decided = _foreign_tubes_refused(
            decided, raw, existing, sites, known_sites={i for _, i, *_ in known["site"]}
        )
    if staged:
        _write_samples_staged(decided)
        return decided["outcomes"]
    tube_ids = _write_samples_small(decided, existing)
    # A stored tube still pending has no result (results refresh a known tube as they arrive):
    # its new members change nothing. New tubes may have held results; others may need tasks.
    quiet = {
        t
        for t, state in zip(
            existing.column("tube_id").to_pylist(), existing.column("state").to_pylist(), strict=True
        )
        if state == TubeState.PENDING
    }
    tube_ids = [t for t in tube_ids if t not in quiet]
    if tube_ids:
        tubes_refresh(tube_ids=tube_ids, members_changed=True)
    return decided["outcomes"]


# The outcomes a row gets from its tube (not from its own cells): for a tube that is not the
# writer's, every one of them becomes ``tube_taken``, which tells nothing of the tube.
_TUBE_OUTCOMES = ("accepted", "duplicate", "tube_in_other_round", "pool_size_conflict", "tube_over_capacity")


def _foreign_tubes_refused(
    decided: dict[str, pa.Table], raw: pa.Table, existing: pa.Table, sites, *, known_sites: set[int]
) -> dict:
    """Rows naming a stored tube of a site the writer may not write for (another county's, or
    another site than a device's own; a re-check tube has none) are ``tube_taken``: nothing is
    added to that tube, and the answer is the same whatever its round, pool size or members.
    ``known_sites``: the batch's own sites, already scoped (a device's next scan into its tube
    costs no query)."""
    if existing.num_rows == 0:
        return decided
    site_ids = {s for s in existing.column("site_id").to_pylist() if s is not None} - known_sites
    mine = set(known_sites)
    if site_ids:
        mine |= set(sites.filter(pk__in=site_ids).values_list("pk", flat=True))
    foreign = {
        b
        for b, s in zip(
            existing.column("barcode").to_pylist(), existing.column("site_id").to_pylist(), strict=True
        )
        if s not in mine
    }
    if not foreign:
        return decided
    foreign_ids = {
        i
        for b, i in zip(
            existing.column("barcode").to_pylist(), existing.column("tube_id").to_pylist(), strict=True
        )
        if b in foreign
    }
    barcode_of = raw.column("tube_barcode").to_pylist()
    outcomes = decided["outcomes"]
    changed = [
        "tube_taken" if barcode_of[pos] in foreign and outcome in _TUBE_OUTCOMES else outcome
        for pos, outcome in zip(
            outcomes.column("pos").to_pylist(), outcomes.column("outcome").to_pylist(), strict=True
        )
    ]
    accepted, earlier = decided["accepted"], decided["earlier"]
    keep = pc.invert(pc.is_in(accepted.column("barcode"), value_set=pa.array(sorted(foreign), pa.string())))
    drop = pa.array(sorted(foreign_ids), pa.int64())
    return {
        **decided,
        "outcomes": outcomes.set_column(
            outcomes.schema.get_field_index("outcome"), "outcome", pa.array(changed, pa.string())
        ),
        "accepted": accepted.filter(keep),
        "earlier": earlier.filter(pc.invert(pc.is_in(earlier.column("tube_id"), value_set=drop))),
    }


def _rounds_and_sites(rounds, sites) -> dict[str, list[tuple]]:
    """The batch's (scoped) rounds and sites in one round trip: {"round": [(code, id, status,
    edition, starts_at)], "site": [(code, id, "", "", None)]}. A device's request is a dozen
    queries; each one counts."""
    sql, params = [], []
    for kind, qs, extra in (("round", rounds, ""), ("site", sites, ", '', '', NULL")):
        try:
            q, p = qs.order_by().query.sql_with_params()
        except EmptyResultSet:  # no code of this kind in the batch
            continue
        sql.append(f"SELECT '{kind}', x.*{extra} FROM ({q}) x")
        params.extend(p)
    found: dict[str, list[tuple]] = {"round": [], "site": []}
    if not sql:
        return found
    with connection.cursor() as cursor:
        for kind, *row in _rows(cursor, " UNION ALL ".join(sql), params):
            found[kind].append(tuple(row))
    return found


ROUNDS_SCHEMA = pa.schema(
    [
        ("code", pa.string()),
        ("round_id", pa.int64()),
        ("is_open", pa.bool_()),
        ("pool_sizes", pa.list_(pa.float64())),
        ("earliest", pa.timestamp("us")),
    ]
)
_TUBE_SCHEMA = pa.schema(
    [
        ("barcode", pa.string()),
        ("tube_id", pa.int64()),
        ("round_id", pa.int64()),
        ("pool_size", pa.int32()),
        ("screening", pa.bool_()),
        ("members", pa.int64()),
        ("first_collected_at", pa.timestamp("us")),
        ("state", pa.string()),
        ("site_id", pa.int64()),
    ]
)
_MEMBER_SCHEMA = pa.schema([("barcode", pa.string()), ("id_type", pa.string()), ("id_number", pa.string())])


def _existing(barcodes: list[str], *, staged: bool = False) -> tuple[pa.Table, pa.Table]:
    """The stored tubes among ``barcodes`` and their members: (tubes, members) for the rules.

    A device's batch reads both in one query (a tube row per member); a big batch in two, through
    a temporary table of its barcodes, and not at all into an empty table. ``staged``: members
    staged by the file's earlier slices (``sample_stage``) count as members.
    """
    tube, sample, person = Tube._meta.db_table, Sample._meta.db_table, Person._meta.db_table
    if not barcodes or (len(barcodes) > ingest.BIG_BATCH and not Tube.objects.exists()):
        return _tubes_table([]), _EMPTY_MEMBERS
    columns = "t.barcode, t.id, t.round_id, t.pool_size, t.purpose, t.first_collected_at, t.site_id"
    if len(barcodes) <= ingest.BIG_BATCH:
        with connection.cursor() as cursor:
            marks = ", ".join(["%s"] * len(barcodes))
            sql = (
                f"SELECT {columns}, t.state, p.id_type, p.id_number FROM {tube} t "
                f"LEFT JOIN {sample} s ON s.tube_id = t.id LEFT JOIN {person} p ON p.id = s.person_id "
                f"WHERE t.barcode IN ({marks})"
            )
            if staged:
                sql += (
                    f" UNION ALL SELECT {columns}, t.state, x.id_type, x.id_number FROM {tube} t "
                    f"JOIN sample_stage x ON x.barcode = t.barcode WHERE t.barcode IN ({marks})"
                )
            rows = _rows(cursor, sql, barcodes * (2 if staged else 1))
        tubes: dict[str, list] = {}
        members = []
        for *head, state, id_type, id_number in rows:
            entry = tubes.setdefault(head[0], [*head, 0, state])
            if id_number is not None:
                entry[-2] += 1
                members.append({"barcode": head[0], "id_type": id_type, "id_number": id_number})
        return _tubes_table(list(tubes.values())), pa.Table.from_pylist(members, schema=_MEMBER_SCHEMA)
    count = f"(SELECT COUNT(*) FROM {sample} s WHERE s.tube_id = t.id)"
    if staged:
        count += " + (SELECT COUNT(*) FROM sample_stage x WHERE x.barcode = t.barcode)"
    found = _with_keys(
        "tube_keys",
        barcodes,
        f"SELECT {columns}, {count}, t.state FROM {tube} t JOIN tube_keys k ON k.k = t.barcode",
    )
    if not found:
        return _tubes_table([]), _EMPTY_MEMBERS
    sql = (
        f"SELECT t.barcode, p.id_type, p.id_number FROM {sample} s JOIN {tube} t ON t.id = s.tube_id "
        f"JOIN {person} p ON p.id = s.person_id JOIN member_keys k ON k.k = t.barcode"
    )
    if staged:
        sql += " UNION ALL SELECT x.barcode, x.id_type, x.id_number FROM sample_stage x JOIN member_keys k ON k.k = x.barcode"
    members = _with_keys("member_keys", barcodes, sql)
    return _tubes_table(found), pa.Table.from_pylist(
        [{"barcode": b, "id_type": t, "id_number": i} for b, t, i in members], schema=_MEMBER_SCHEMA
    )


def _tubes_table(rows: list) -> pa.Table:
    """(barcode, id, round_id, pool_size, purpose, first_collected_at, site_id, members, state) rows → Arrow."""
    return pa.Table.from_pylist(
        [
            {
                "barcode": b,
                "tube_id": i,
                "round_id": r,
                "pool_size": p,
                "screening": purpose == TubePurpose.SCREENING,
                "members": m,
                "first_collected_at": naive_utc(f),
                "state": state,
                "site_id": site,
            }
            for b, i, r, p, purpose, f, site, m, state in rows
        ],
        schema=_TUBE_SCHEMA,
    )


_EMPTY_MEMBERS = pa.Table.from_pylist([], schema=_MEMBER_SCHEMA)


def _write_samples_staged(decided: dict[str, pa.Table]) -> None:
    """A file's slice: its new tubes and earlier first-sample times are stored at once (the next
    slices look them up); its accepted rows are staged for :func:`_stage_flush`."""
    new_tubes, accepted, earlier = decided["new_tubes"], decided["accepted"], decided["earlier"]
    if accepted.num_rows == 0:
        return
    n_new = new_tubes.num_rows
    insert_arrow(
        Tube._meta.db_table,
        new_tubes.select(["barcode", "round_id", "pool_size", "site_id", "box_code", "first_collected_at"])
        .append_column("purpose", pa.array([TubePurpose.SCREENING.value] * n_new, pa.string()))
        .append_column("state", pa.array([TubeState.PENDING.value] * n_new, pa.string()))
        .append_column("reason", pa.array([""] * n_new, pa.string()))
        .append_column("created_at", pa.array([timezone.now()] * n_new, pa.timestamp("us", tz="UTC"))),
    )
    if earlier.num_rows:
        with connection.cursor() as cursor:
            cursor.executemany(
                f"UPDATE {Tube._meta.db_table} SET first_collected_at = %s WHERE id = %s",
                [(_db_time(f), i) for i, f in _arrow_rows(earlier, ["tube_id", "first_collected_at"])],
            )
    insert_arrow("sample_stage", accepted.select(_STAGE_SCHEMA.names))


def _stage_flush() -> list[int]:
    """Join the staged rows to their tubes and people (unregistered people created first) into
    ``screening_sample``; returns the touched tube ids."""
    tube, sample, person = Tube._meta.db_table, Sample._meta.db_table, Person._meta.db_table
    with connection.cursor() as cursor:
        missing = _rows(
            cursor,
            f"SELECT s.id_type, s.id_number, s.name FROM sample_stage s LEFT JOIN {person} p "
            "ON p.id_type = s.id_type AND p.id_number = s.id_number WHERE p.id IS NULL",
        )
        if missing:
            persons_create_unregistered(people=missing, now=timezone.now())
        cast = (
            "CAST(s.collected_at AS TIMESTAMP WITH TIME ZONE)"
            if connection.vendor == "postgresql"
            else ("s.collected_at")
        )
        # In index order: the (tube, person) index then grows at its right edge instead of
        # splitting pages all over (a third less time on PostgreSQL at 1 M rows).
        cursor.execute(
            f"INSERT INTO {sample} (tube_id, person_id, round_id, collected_at) "
            f"SELECT t.id, p.id, t.round_id, {cast} FROM sample_stage s "
            f"JOIN {tube} t ON t.barcode = s.barcode "
            f"JOIN {person} p ON p.id_type = s.id_type AND p.id_number = s.id_number "
            "ORDER BY t.id, p.id"
        )
        rows = _rows(
            cursor, f"SELECT DISTINCT t.id FROM sample_stage s JOIN {tube} t ON t.barcode = s.barcode"
        )
    return [r[0] for r in rows]


def _write_samples_small(decided: dict[str, pa.Table], existing: pa.Table) -> list[int]:
    """A device's few rows, in plain SQL: a request is a dozen statements and the ORM's building
    of each one cost more than running it. Returns the touched tube ids."""
    new_tubes, accepted, earlier = decided["new_tubes"], decided["accepted"], decided["earlier"]
    if accepted.num_rows == 0:
        return []
    now = timezone.now()
    tube, sample, person = Tube._meta.db_table, Sample._meta.db_table, Person._meta.db_table
    tube_id = dict(
        zip(existing.column("barcode").to_pylist(), existing.column("tube_id").to_pylist(), strict=True)
    )
    rows = accepted.to_pylist()
    with connection.cursor() as cursor:
        new = new_tubes.to_pylist()
        if new:
            values = [
                (
                    t["barcode"],
                    t["round_id"],
                    TubePurpose.SCREENING.value,
                    t["pool_size"],
                    t["site_id"],
                    t["box_code"],
                    _db_time(t["first_collected_at"]),
                    TubeState.PENDING.value,
                    "",
                    _db_time(now),
                )
                for t in new
            ]
            marks = ", ".join(["(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"] * len(values))
            tube_id.update(
                _rows(
                    cursor,
                    f"INSERT INTO {tube} (barcode, round_id, purpose, pool_size, site_id, box_code, "
                    f"first_collected_at, state, reason, created_at) VALUES {marks} RETURNING barcode, id",
                    [v for row in values for v in row],
                )
            )
        for t in earlier.to_pylist():
            cursor.execute(
                f"UPDATE {tube} SET first_collected_at = %s WHERE id = %s",
                [_db_time(t["first_collected_at"]), t["tube_id"]],
            )
        # People are joined in the INSERT itself (one round trip for the usual batch, everyone
        # registered); if anyone was missing, the batch's people are created unregistered (the
        # registered ones are left alone by ON CONFLICT) and the same INSERT runs again for the
        # rows it could not place.
        values = [
            (tube_id[r["barcode"]], r["id_type"], r["id_number"], r["round_id"], _db_time(r["collected_at"]))
            for r in rows
        ]
        collected = (
            "CAST(v.column5 AS TIMESTAMP WITH TIME ZONE)"
            if connection.vendor == "postgresql"
            else "v.column5"
        )
        insert = (
            f"INSERT INTO {sample} (tube_id, person_id, round_id, collected_at) "
            f"SELECT CAST(v.column1 AS BIGINT), p.id, CAST(v.column4 AS BIGINT), {collected} "
            f"FROM (VALUES {', '.join(['(%s, %s, %s, %s, %s)'] * len(values))}) AS v "
            f"JOIN {person} p ON p.id_type = v.column2 AND p.id_number = v.column3 WHERE 1 = 1"
        )
        params = [v for row in values for v in row]
        cursor.execute(insert, params)
        if cursor.rowcount < len(values):
            persons_create_unregistered(
                people=[(r["id_type"], r["id_number"], r["name"]) for r in rows], now=now
            )
            cursor.execute(f"{insert} ON CONFLICT (tube_id, person_id) DO NOTHING", params)
    return sorted({tube_id[r["barcode"]] for r in rows})
