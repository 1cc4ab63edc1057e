"""Writes of the screening work: rounds, sites and labs, samples and results, re-check tasks.

Samples and results from every path — a file on the command line, a web upload, a device's API
request — go through :func:`samples_import` and :func:`results_import`: the same rules
(:mod:`lianfang.screening.rules`), the same summary, one transaction. After each batch the tubes
it touched are brought up to date (:func:`tubes_refresh`): their effective result, the alert of
an abnormal pool (一键即报), the re-check tasks of its members, and the closing of re-check tasks
whose single tube got its result.
"""

from __future__ import annotations

import datetime as dt
import zlib
from collections.abc import Callable, Iterable

import numpy as np
import pyarrow as pa
from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.db import connection, transaction
from django.utils import timezone

from lianfang.accounts.scoping import Actor
from lianfang.accounts.services import audit_record
from lianfang.core.db import analyze_after_bulk, bulk_cache, insert_arrow, temp_table_from_arrow
from lianfang.core.summary import ImportSummary
from lianfang.core.times import as_utc, naive_utc, parse_time
from lianfang.geo.models import Division, Level
from lianfang.people.idnumbers import validate_resident_ids_arrow
from lianfang.people.models import Person
from lianfang.people.normalize import ID_TYPE_ALIASES, name_pinyin
from lianfang.screening import rules
from lianfang.screening.models import (
    OPEN_TASK_STATUSES,
    Device,
    Lab,
    PoolAlert,
    PoolPolicy,
    PositiveFinding,
    RecheckTask,
    Result,
    Round,
    RoundScope,
    RoundStatus,
    Sample,
    Site,
    TaskKind,
    TaskStatus,
    Tube,
    TubePurpose,
    TubeState,
)

Progress = Callable[[int, int], None]

# Batches above this size lock out every other writer instead of locking tube by tube.
BIG_BATCH = 2000
# Batches up to this size (a device's tube or buffer) are decided and written without DuckDB
# and without staging tables: the fixed costs would dominate such a request.
SMALL_BATCH = 200
# A samples file is decided and written in slices of this many rows (memory), in one transaction.
CHUNK_ROWS = 500_000
# Values per IN list: far within any database's bound parameters (SQLite: 32,766).
_IN_LIST = 5000


def _chunks(values: list) -> Iterable[list]:
    """``values`` in lists of at most :data:`_IN_LIST` (read at call time: tests shrink it)."""
    for start in range(0, len(values), _IN_LIST):
        yield values[start : start + _IN_LIST]


_INGEST_LOCK = 7_240_301  # pg advisory lock key of the screening ingest
_TUBE_LOCK_CLASS = 7_240


class ScreeningError(ValueError):
    """A request that cannot be done, with a message in Chinese and in English."""

    def __init__(self, code: str, zh: str, en: str):
        super().__init__(f"{zh} / {en}")
        self.code, self.zh, self.en = code, zh, en


# ---------------------------------------------------------------------------------------------
# Rounds


@transaction.atomic
def round_open(
    *,
    actor: Actor | None,
    code: str,
    name: str,
    scope: Iterable[str],
    pool_policy: str = PoolPolicy.TEN,
    starts_at: dt.datetime | None = None,
    deadline_at: dt.datetime | None = None,
) -> Round:
    """Open a round over ``scope`` (division codes of any level); the deadline defaults to 24 h.

    Opening a round again with the same code and scope returns it unchanged (scripts may retry).
    """
    code = code.strip()
    codes = sorted({c.strip() for c in scope if c.strip()})
    if not code or len(code) > 32:
        raise ScreeningError(
            "bad_code", "轮次编号不能为空且不超过32个字符", "the round code must be 1-32 characters"
        )
    if not codes:
        raise ScreeningError(
            "no_scope", "请指定筛查范围（区划代码）", "give the round a scope (division codes)"
        )
    known = set(Division.objects.filter(code__in=codes).values_list("code", flat=True))
    unknown = [c for c in codes if c not in known]
    if unknown:
        raise ScreeningError(
            "unknown_division",
            f"区划代码不存在：{', '.join(unknown)}",
            f"unknown division codes: {', '.join(unknown)}",
        )
    if actor is not None:
        outside = [c for c in codes if not actor.covers(c)]
        if outside:
            raise ScreeningError(
                "out_of_jurisdiction",
                f"范围超出您的辖区：{', '.join(outside)}",
                f"outside your jurisdiction: {', '.join(outside)}",
            )
    if pool_policy not in PoolPolicy.values:
        raise ScreeningError("bad_pool_policy", "混采策略无效", "unknown pool policy")
    starts_at = starts_at or timezone.now()
    deadline_at = deadline_at or starts_at + dt.timedelta(hours=24)
    if deadline_at <= starts_at:
        raise ScreeningError("bad_deadline", "完成时限须晚于开始时间", "the deadline must be after the start")
    existing = Round.objects.filter(code=code).first()
    if existing is not None:
        if sorted(existing.scope) == codes:
            return existing
        raise ScreeningError(
            "round_exists", f"轮次 {code} 已存在，范围不同", f"round {code} exists with another scope"
        )
    rnd = Round.objects.create(
        code=code,
        name=name.strip() or code,
        scope=codes,
        pool_policy=pool_policy,
        starts_at=starts_at,
        deadline_at=deadline_at,
        opened_by=actor.user if actor else None,
    )
    RoundScope.objects.bulk_create([RoundScope(round=rnd, division_id=c) for c in codes])
    audit_record(actor=actor, action="create", object_type="round", object_id=code, detail={"scope": codes})
    return rnd


@transaction.atomic
def round_close(*, actor: Actor | None, rnd: Round) -> Round:
    """Close a round: later samples for it are refused (``round_closed``); results still arrive."""
    if rnd.status != RoundStatus.CLOSED:
        rnd.status = RoundStatus.CLOSED
        rnd.closed_at = timezone.now()
        rnd.save(update_fields=["status", "closed_at"])
        audit_record(
            actor=actor, action="update", object_type="round", object_id=rnd.code, detail={"closed": True}
        )
    return rnd


# ---------------------------------------------------------------------------------------------
# Sites and labs


def _text(table: pa.Table, name: str) -> list[str]:
    if name not in table.column_names:
        return [""] * table.num_rows
    return [(v or "").strip() for v in table.column(name).to_pylist()]


@transaction.atomic
def sites_import(
    *, table: pa.Table, actor: Actor | None, source: str = ""
) -> tuple[ImportSummary, np.ndarray]:
    """sites.csv: ``site_code, name, community_code`` required, ``desks`` optional (a positive integer).

    Reasons, in order: ``missing_field:<col>``, ``unknown_community``, ``bad_desks``. A known code
    with changed fields is an update; unchanged, a duplicate.
    """
    codes, names, communities, desks = (
        _text(table, c) for c in ("site_code", "name", "community_code", "desks")
    )
    known_communities = Division.objects.filter(level=Level.COMMUNITY)
    if actor is not None:
        known_communities = known_communities.inside(actor)
    valid = set(known_communities.filter(code__in=set(communities)).values_list("code", flat=True))
    stored = {s.code: s for s in Site.objects.filter(code__in=set(codes))}
    summary = ImportSummary(read=table.num_rows)
    reasons = np.full(table.num_rows, "", dtype=object)
    for i, (code, name, community, desk_text) in enumerate(
        zip(codes, names, communities, desks, strict=True)
    ):
        reason = next(
            (
                f"missing_field:{c}"
                for c, v in (("site_code", code), ("name", name), ("community_code", community))
                if not v
            ),
            "",
        )
        if not reason and community not in valid:
            reason = "unknown_community"
        desk_count = 1
        if not reason and desk_text:
            try:
                desk_count = int(float(desk_text))
                if desk_count < 1 or desk_count != float(desk_text) or desk_count > 999:
                    raise ValueError
            except ValueError:
                reason = "bad_desks"
        if reason:
            reasons[i] = reason
            summary.reject(reason)
            continue
        site = stored.get(code)
        if site is None:
            site = stored[code] = Site(code=code)
        elif (site.name, site.community_id, site.desks) == (
            name,
            community,
            desk_count if desk_text else site.desks,
        ):
            summary.duplicate += 1
            continue
        site.name, site.community_id = name, community
        site.town_code, site.county_code = community[:9], community[:6]
        if desk_text or site.pk is None:
            site.desks = desk_count
        site.save()
        summary.accepted += 1
    audit_record(
        actor=actor, action="import", object_type="sites", object_id=source[:64], detail=summary.as_dict()
    )
    return summary, reasons


@transaction.atomic
def labs_import(
    *, table: pa.Table, actor: Actor | None, source: str = ""
) -> tuple[ImportSummary, np.ndarray]:
    """labs.csv: ``lab_code, name`` required, ``daily_capacity`` optional (tubes per day).

    Reasons, in order: ``missing_field:<col>``, ``bad_capacity``.
    """
    codes, names, capacities = (_text(table, c) for c in ("lab_code", "name", "daily_capacity"))
    stored = {lab.code: lab for lab in Lab.objects.filter(code__in=set(codes))}
    summary = ImportSummary(read=table.num_rows)
    reasons = np.full(table.num_rows, "", dtype=object)
    for i, (code, name, cap_text) in enumerate(zip(codes, names, capacities, strict=True)):
        reason = next((f"missing_field:{c}" for c, v in (("lab_code", code), ("name", name)) if not v), "")
        capacity = None
        if not reason and cap_text:
            try:
                capacity = int(float(cap_text))
                if capacity < 0 or capacity != float(cap_text):
                    raise ValueError
            except ValueError:
                reason = "bad_capacity"
        if reason:
            reasons[i] = reason
            summary.reject(reason)
            continue
        lab = stored.get(code)
        if lab is None:
            lab = stored[code] = Lab(code=code)
        elif (lab.name, lab.daily_capacity) == (name, capacity if cap_text else lab.daily_capacity):
            summary.duplicate += 1
            continue
        lab.name = name
        if cap_text:
            lab.daily_capacity = capacity
        lab.save()
        summary.accepted += 1
    audit_record(
        actor=actor, action="import", object_type="labs", object_id=source[:64], detail=summary.as_dict()
    )
    return summary, reasons


# ---------------------------------------------------------------------------------------------
# Samples


def _lock_ingest(barcodes: list[str] | None) -> None:
    """Serialise writers of the same tubes (PostgreSQL; SQLite's IMMEDIATE transactions already do).

    A big batch (``barcodes`` None, or more than BIG_BATCH tubes) takes the ingest lock
    exclusively; a device's small batch takes it shared, then its tubes one by one in sorted
    order (no deadlock), so devices at different sites never wait for each other and two devices
    adding to the same tube cannot overfill it.
    """
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        if barcodes is None or len(barcodes) > BIG_BATCH:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_INGEST_LOCK])
            # One big batch at a time: its joins and sorts may hold their hash tables in memory
            # instead of spilling to disk (the server default is 4 MB).
            cursor.execute("SET LOCAL work_mem = '256MB'")
            return
        # One round trip: the select list is evaluated left to right, so the tube locks are
        # taken after the shared lock and in sorted order.
        keys = sorted({zlib.crc32(b.encode()) - 2**31 for b in barcodes})
        locks = ", ".join(
            ["pg_advisory_xact_lock_shared(%s)"] + ["pg_advisory_xact_lock(%s, %s)"] * len(keys)
        )
        params = [_INGEST_LOCK]
        for key in keys:
            params += [_TUBE_LOCK_CLASS, key]
        cursor.execute(f"SELECT {locks}", params)


def _rows(cursor, sql: str, params=()) -> list[tuple]:
    cursor.execute(sql, params)
    return cursor.fetchall()


def _with_keys(name: str, values: list[str], sql: str) -> list[tuple]:
    """Run ``sql`` (which joins the temporary table ``name`` (k)) over ``values``."""
    temp_table_from_arrow(name, pa.table({"k": pa.array(values, pa.string())}))
    with connection.cursor() as cursor:
        rows = _rows(cursor, sql)
        cursor.execute(f"DROP TABLE IF EXISTS {name}")
    return rows


def _db_time(value: dt.datetime) -> object:
    """A UTC instant as the database backend wants it in raw SQL."""
    if connection.vendor == "sqlite":
        return value.replace(tzinfo=None).isoformat(" ")
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value


def samples_import(
    *,
    table: pa.Table,
    actor: Actor | None,
    source: str = "",
    progress: Progress | None = None,
    site: Site | None = None,
) -> tuple[ImportSummary, np.ndarray]:
    """Import sample rows (samples.csv, a web upload, a device batch). Returns (summary, outcomes).

    ``outcomes`` holds per input row ``accepted``, ``duplicate`` or the rejection reason.
    ``actor`` None is the server's authority (the CLI); otherwise rounds and sites outside the
    actor's jurisdiction are unknown to them. ``site``: a site device may only write for its site.
    """
    n = table.num_rows
    if progress:
        progress(0, n)
    # A device's batch locks its own tubes; anything bigger is a file and locks the ingest.
    barcodes = None
    if n <= BIG_BATCH:
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
            parts.append(_samples_part(part, rounds=rounds, sites=sites, staged=staged))
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
        outcomes_table = pa.concat_tables(parts)
        summary = _summary_audited(actor=actor, kind="samples", source=source, outcomes=outcomes_table)
    # The registry only gains the few unregistered people sampled: its statistics stand.
    analyze_after_bulk([Tube._meta.db_table, Sample._meta.db_table], n)
    return summary, outcomes_table.column("outcome").to_numpy(zero_copy_only=False)


def _samples_part(raw: pa.Table, *, rounds, sites, staged: bool = False) -> pa.Table:
    """Decide and store (or stage) one slice of a samples batch; returns its (pos, outcome) table."""
    n = raw.num_rows
    rid_ok = validate_resident_ids_arrow(raw.column("id_number"), today=timezone.localdate())
    barcodes = sorted({b for b in raw.column("tube_barcode").to_pylist() if b})
    site_codes = {s for s in raw.column("site_code").to_pylist() if s}
    round_codes = {c for c in raw.column("round_code").to_pylist() if c}
    decide = rules.samples_decide_small if n <= SMALL_BATCH else rules.samples_decide
    existing, members = _existing(barcodes, staged=staged)
    known = _rounds_and_sites(
        rounds.filter(code__in=round_codes).values_list("code", "id", "status"),
        sites.filter(code__in=site_codes).values_list("code", "id"),
    )
    decided = decide(
        raw,
        rid_ok=rid_ok,
        id_type_aliases={k: str(v) for k, v in ID_TYPE_ALIASES.items()},
        rounds=pa.Table.from_pylist(
            [{"code": c, "round_id": i, "is_open": s == RoundStatus.OPEN} for c, i, s in known["round"]],
            schema=pa.schema([("code", pa.string()), ("round_id", pa.int64()), ("is_open", pa.bool_())]),
        ),
        sites=pa.Table.from_pylist(
            [{"code": c, "site_id": i} for c, i, _ in known["site"]],
            schema=pa.schema([("code", pa.string()), ("site_id", pa.int64())]),
        ),
        existing_tubes=existing,
        existing_members=members,
        parse_time=parse_time,
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


def _rounds_and_sites(rounds, sites) -> dict[str, list[tuple]]:
    """The batch's (scoped) rounds and sites in one round trip: {"round": [(code, id, status)],
    "site": [(code, id, "")]}. A device's request is a dozen queries; each one counts."""
    sql, params = [], []
    for kind, qs, extra in (("round", rounds, ""), ("site", sites, ", ''")):
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


def _summary_audited(*, actor: Actor | None, kind: str, source: str, outcomes: pa.Table) -> ImportSummary:
    """The batch's summary from its row outcomes, recorded as one audited import event."""
    summary = ImportSummary(read=outcomes.num_rows)
    for outcome, count in rules.summarise(outcomes).items():
        if outcome == rules.ACCEPTED:
            summary.accepted = count
        elif outcome == rules.DUPLICATE:
            summary.duplicate = count
        elif outcome == rules.HELD:
            summary.held = count
        else:
            summary.reject(outcome, count)
    assert summary.balanced, summary
    audit_record(
        actor=actor,
        action="import",
        object_type=kind,
        object_id=source[:64],
        detail={"source": source, **summary.as_dict()},
    )
    return summary


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
    if not barcodes or (len(barcodes) > BIG_BATCH and not Tube.objects.exists()):
        return _tubes_table([]), _EMPTY_MEMBERS
    columns = "t.barcode, t.id, t.round_id, t.pool_size, t.purpose, t.first_collected_at"
    if len(barcodes) <= BIG_BATCH:
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
    """(barcode, id, round_id, pool_size, purpose, first_collected_at, members, state) rows → Arrow."""
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
            }
            for b, i, r, p, purpose, f, m, state in rows
        ],
        schema=_TUBE_SCHEMA,
    )


_EMPTY_MEMBERS = pa.Table.from_pylist([], schema=_MEMBER_SCHEMA)


def _arrow_rows(table: pa.Table, columns: list[str], convert: dict[str, Callable] | None = None):
    """Tuples of ``columns`` from an Arrow table, a batch at a time (never the whole table as objects)."""
    convert = convert or {}
    for batch in table.select(columns).to_batches(max_chunksize=100_000):
        cols = []
        for name in columns:
            values = batch.column(name).to_pylist()
            if name in convert:
                values = [convert[name](v) for v in values]
            cols.append(values)
        yield from zip(*cols, strict=True)


_STAGE_SCHEMA = pa.schema(
    [
        ("barcode", pa.string()),
        ("id_type", pa.string()),
        ("id_number", pa.string()),
        ("name", pa.string()),
        ("collected_at", pa.timestamp("us")),
    ]
)


def _stage_create(*, indexed: bool) -> None:
    """The file's staging table of accepted rows (session-temporary). ``indexed`` by barcode when
    it keeps rows for the later slices' member look-ups (emptied after each slice, it needs none)."""
    temp_table_from_arrow("sample_stage", _STAGE_SCHEMA.empty_table())
    if indexed:
        with connection.cursor() as cursor:
            cursor.execute("CREATE INDEX sample_stage_barcode ON sample_stage (barcode)")


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
            _persons_create_unregistered(cursor, missing, timezone.now())
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


def _stage_end(*, drop: bool) -> None:
    """Empty the stage for the next slice (SQLite: DELETE without WHERE truncates) or drop it."""
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS sample_stage" if drop else "DELETE FROM sample_stage")


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
            _persons_create_unregistered(
                cursor, [(r["id_type"], r["id_number"], r["name"]) for r in rows], now
            )
            cursor.execute(f"{insert} ON CONFLICT (tube_id, person_id) DO NOTHING", params)
    return sorted({tube_id[r["barcode"]] for r in rows})


def _persons_create_unregistered(cursor, missing: list[tuple], now: dt.datetime) -> None:
    """People sampled but not in the registry: created as unregistered (name from their first row)."""
    seen: dict[tuple[str, str], str] = {}
    for id_type, id_number, name in missing:
        key = (id_type, id_number)
        if key not in seen or (not seen[key] and name):
            seen[key] = name or ""
    rows = []
    for (id_type, id_number), name in seen.items():
        full, initials = name_pinyin(name)
        birth, sex = None, ""
        if id_type == "resident_id":
            birth = dt.date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))
            sex = "M" if int(id_number[16]) % 2 else "F"
        rows.append(
            (
                id_type,
                id_number,
                id_number[::-1],
                name,
                full,
                initials,
                "",
                "",
                None,
                "",
                "",
                "",
                "",
                birth,
                sex,
                "",
                False,
                now,
                now,
            )
        )
    from lianfang.people.services import INSERT_COLUMNS

    qn = connection.ops.quote_name
    marks = ", ".join(["%s"] * len(INSERT_COLUMNS))
    cursor.executemany(
        f"INSERT INTO {qn(Person._meta.db_table)} ({', '.join(qn(c) for c in INSERT_COLUMNS)}) VALUES ({marks}) "
        "ON CONFLICT (id_type, id_number) DO NOTHING",
        rows,
    )


# ---------------------------------------------------------------------------------------------
# Results


def results_import(
    *,
    table: pa.Table,
    actor: Actor | None,
    source: str = "",
    progress: Progress | None = None,
    lab: Lab | None = None,
) -> tuple[ImportSummary, np.ndarray]:
    """Import lab result rows (results.csv, a web upload, a lab's API batch). Returns (summary, outcomes).

    ``lab``: a lab device may only post its own results; any other lab code is ``unknown_lab``.
    """
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
    if len(barcodes) <= BIG_BATCH:
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
    if len(barcodes) <= BIG_BATCH:
        return list(Tube.objects.filter(barcode__in=barcodes).values_list("barcode", flat=True))
    return [
        r[0]
        for r in _with_keys(
            "known_keys",
            barcodes,
            f"SELECT t.barcode FROM {Tube._meta.db_table} t JOIN known_keys k ON k.k = t.barcode",
        )
    ]


# ---------------------------------------------------------------------------------------------
# Tube states, alerts and re-check tasks


def tubes_refresh(
    *, tube_ids: list[int] | None = None, barcodes: list[str] | None = None, members_changed: bool = False
) -> None:
    """Bring tubes up to date with their results: state, alert, re-check tasks, task closing.

    The effective result of each tube (FORMATS.md: abnormal if any positive or inconclusive; else
    negative; else invalid) is computed and stored by one ``UPDATE … FROM`` in the database, which
    returns only the tubes whose state or reason changed: a results file of 100 k negative tubes
    moves no tube through Python. ``members_changed``: the tubes got new members, whose tasks are
    due even if the state stays.
    """
    tube, result = Tube._meta.db_table, Result._meta.db_table
    column, keys = ("barcode", list(barcodes)) if barcodes is not None else ("id", list(tube_ids or []))
    if not keys:
        return
    params: list = []
    if len(keys) <= BIG_BATCH:
        join, where = "", f"WHERE t.{column} IN ({', '.join(['%s'] * len(keys))})"
        params = keys
    else:
        temp_table_from_arrow(
            "refresh_keys",
            pa.table({"k": pa.array(keys, pa.string() if column == "barcode" else pa.int64())}),
        )
        join, where = f"JOIN refresh_keys k ON k.k = t.{column}", ""
    positive, inconclusive, negative, invalid = (
        f"SUM(CASE WHEN r.result = '{v}' THEN 1 ELSE 0 END) > 0"
        for v in ("positive", "inconclusive", "negative", "invalid")
    )
    effective = (
        f"SELECT t.id, CASE WHEN {positive} OR {inconclusive} THEN '{TubeState.ABNORMAL}' "
        f"WHEN {negative} THEN '{TubeState.NEGATIVE}' WHEN {invalid} THEN '{TubeState.INVALID}' "
        f"ELSE '{TubeState.PENDING}' END AS state, "
        f"CASE WHEN {positive} THEN 'positive' WHEN {inconclusive} THEN 'inconclusive' "
        f"WHEN {negative} THEN '' WHEN {invalid} THEN 'invalid' ELSE '' END AS reason, "
        "MIN(r.reported_at) AS resulted_at "
        f"FROM {tube} t {join} JOIN {result} r ON r.tube_barcode = t.barcode {where} GROUP BY t.id"
    )
    returning = f"{tube}.id, {tube}.round_id, {tube}.purpose, {tube}.state, {tube}.reason, {tube}.resulted_at"
    with connection.cursor() as cursor:
        if members_changed and not _rows(
            cursor,
            f"SELECT 1 FROM {tube} t {join} JOIN {result} r ON r.tube_barcode = t.barcode {where} LIMIT 1",
            params,
        ):
            # New members of tubes without any result (the usual scan): nothing to bring up to date.
            if join:
                cursor.execute("DROP TABLE IF EXISTS refresh_keys")
            return
        # An inconclusive pool that a re-run found positive stays abnormal but changes its reason.
        changed = [
            (i, r, purpose, state, reason, as_utc(at))
            for i, r, purpose, state, reason, at in _rows(
                cursor,
                f"UPDATE {tube} SET state = x.state, reason = x.reason, resulted_at = x.resulted_at "
                f"FROM ({effective}) x WHERE {tube}.id = x.id "
                f"AND ({tube}.state <> x.state OR {tube}.reason <> x.reason) RETURNING {returning}",
                params,
            )
        ]
        resync: list[tuple] = []
        if members_changed:
            # Tubes whose result stayed the same still owe their new members a task (abnormal,
            # invalid) or release a re-sample task elsewhere (negative).
            done = {c[0] for c in changed}
            resync = [
                row
                for row in _rows(
                    cursor,
                    f"SELECT t.id, t.round_id, t.state, t.reason FROM {tube} t {join} {where} "
                    f"{'AND' if where else 'WHERE'} t.purpose = '{TubePurpose.SCREENING}' "
                    f"AND t.state <> '{TubeState.PENDING}'",
                    params,
                )
                if row[0] not in done
            ]
        if join:
            cursor.execute("DROP TABLE IF EXISTS refresh_keys")
    if not changed and not resync:
        return
    screening = [c for c in changed if c[2] == TubePurpose.SCREENING]
    checks = [c for c in changed if c[2] != TubePurpose.SCREENING]
    if screening:
        _alerts_raise(screening)
    if screening or resync:
        _tasks_sync([(c[0], c[1], c[3], c[4]) for c in screening] + resync)
    if checks:
        _check_tubes_close(checks)


def _alerts_raise(changed: list[tuple]) -> None:
    """一键即报: every pool that turned abnormal is on the command's alert list at once."""
    now = timezone.now()
    abnormal = {c[0]: c for c in changed if c[3] == TubeState.ABNORMAL}
    if not abnormal:
        return
    have = {
        a.tube_id: a for chunk in _chunks(list(abnormal)) for a in PoolAlert.objects.filter(tube_id__in=chunk)
    }
    PoolAlert.objects.bulk_create(
        [
            PoolAlert(tube_id=i, round_id=c[1], reason=c[4], raised_at=now)
            for i, c in abnormal.items()
            if i not in have
        ]
    )
    for tube_id, alert in have.items():  # inconclusive that a re-run found positive
        if alert.reason != abnormal[tube_id][4]:
            alert.reason = abnormal[tube_id][4]
            alert.save(update_fields=["reason"])


def _protocol_deadlines(now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    arrive = dt.timedelta(hours=settings.LIANFANG_RECHECK_ARRIVE_HOURS)
    result = dt.timedelta(hours=settings.LIANFANG_RECHECK_RESULT_HOURS)
    return now + arrive, now + arrive + result


def _tasks_sync(items: list[tuple[int, int, str, str]]) -> None:
    """Re-check tasks for the members of abnormal tubes, re-sample tasks for invalid ones.

    ``items``: (tube_id, round_id, state, reason) of screening tubes whose result or members
    changed. A member of an invalid tube who also has a negative tube in the round needs nothing;
    an open re-sample task of such a member is closed as not needed when the negative arrives.
    Only the (few) abnormal and invalid tubes and the open re-sample tasks are read: a results
    file of a million negative tubes costs two small queries here. No statement carries more than
    :data:`_IN_LIST` ids (SQLite builds allow 32,766 parameters, PostgreSQL's protocol 65,535).
    """
    flagged = {i for i, _, s, _ in items if s in (TubeState.ABNORMAL, TubeState.INVALID)}
    negative = {i for i, _, s, _ in items if s == TubeState.NEGATIVE}
    round_ids = {r for _, r, _, _ in items}
    now = timezone.now()
    abnormal = [i for i, _, s, _ in items if s == TubeState.ABNORMAL]
    if abnormal:
        # A negative pool re-run positive is no longer the negative that spared its members a
        # re-sample of their invalid tubes: those tubes are brought up to date too.
        for i, r in _invalid_tubes_of_members(abnormal):
            flagged.add(i)
            round_ids.add(r)
    for chunk in _chunks(sorted(flagged)):
        _tasks_create_or_update(chunk, round_ids, now)
    if negative:
        open_resample = RecheckTask.objects.filter(
            round_id__in=round_ids, kind=TaskKind.RESAMPLE, status__in=OPEN_TASK_STATUSES
        )
        tasks = list(open_resample.values_list("id", "tube_id", "person_id", "round_id"))
        if tasks:
            negative_people = _negative_people(round_ids, open_resample.values("person_id"))
            release = [
                i for i, tube, person, rnd in tasks if tube in negative or (person, rnd) in negative_people
            ]
            for chunk in _chunks(release):
                RecheckTask.objects.filter(id__in=chunk).update(status=TaskStatus.NOT_NEEDED, closed_at=now)


def _negative_people(round_ids: set[int], people) -> set[tuple[int, int]]:
    """(person, round) of ``people`` (a subquery of person ids) with a negative screening tube in
    one of the rounds: a negative in another round spares nothing."""
    return set(
        Sample.objects.filter(
            round_id__in=round_ids,
            person_id__in=people,
            tube__state=TubeState.NEGATIVE,
            tube__purpose=TubePurpose.SCREENING,
        ).values_list("person_id", "round_id")
    )


def _invalid_tubes_of_members(tube_ids: list[int]) -> list[tuple]:
    """(id, round_id) of the invalid screening tubes of these tubes' members (any round: bringing a
    tube's tasks up to date again changes nothing that is already right)."""
    tube, sample = Tube._meta.db_table, Sample._meta.db_table
    found: set[tuple] = set()
    with connection.cursor() as cursor:
        for chunk in _chunks(tube_ids):
            found.update(
                _rows(
                    cursor,
                    # The members first (by the tube index), then their tubes (by the person
                    # index): written as a self-join, SQLite walked the samples table for 108 s.
                    f"SELECT DISTINCT t.id, t.round_id FROM {sample} b "
                    f"JOIN {tube} t ON t.id = b.tube_id WHERE b.person_id IN "
                    f"(SELECT a.person_id FROM {sample} a WHERE a.tube_id IN ({', '.join(['%s'] * len(chunk))})) "
                    "AND t.state = %s AND t.purpose = %s",
                    [*chunk, TubeState.INVALID, TubePurpose.SCREENING],
                )
            )
    return sorted(found)


def _tasks_create_or_update(tube_ids: list[int], round_ids: set[int], now: dt.datetime) -> None:
    """The tasks of these abnormal and invalid tubes' members, as their tubes' states want them."""
    tubes = {
        i: (r, state, reason, site_community)
        for i, r, state, reason, site_community in Tube.objects.filter(id__in=tube_ids).values_list(
            "id", "round_id", "state", "reason", "site__community_id"
        )
    }
    members = Sample.objects.filter(tube_id__in=tube_ids)
    negative_people = _negative_people(
        round_ids, members.filter(tube__state=TubeState.INVALID).values("person_id")
    )
    existing = {(t.tube_id, t.person_id): t for t in RecheckTask.objects.filter(tube_id__in=tube_ids)}
    due_sample, due_result = _protocol_deadlines(now)
    create = []
    for tube_id, person_id, person_community in members.values_list(
        "tube_id", "person_id", "person__community_id"
    ):
        round_id, state, reason, site_community = tubes[tube_id]
        task = existing.get((tube_id, person_id))
        wanted = None
        if state == TubeState.ABNORMAL:
            wanted = TaskKind.RECHECK
        elif state == TubeState.INVALID and (person_id, round_id) not in negative_people:
            wanted = TaskKind.RESAMPLE
        if task is None:
            community = person_community or site_community
            if wanted is None or community is None:
                continue
            create.append(
                RecheckTask(
                    round_id=round_id,
                    tube_id=tube_id,
                    person_id=person_id,
                    kind=wanted,
                    reason=reason,
                    community_id=community,
                    town_code=community[:9],
                    county_code=community[:6],
                    due_sample_at=due_sample,
                    due_result_at=due_result,
                )
            )
        elif task.status in OPEN_TASK_STATUSES:
            if wanted is None:
                task.status, task.closed_at = TaskStatus.NOT_NEEDED, now
                task.save(update_fields=["status", "closed_at"])
            elif wanted != task.kind or task.reason != reason:
                task.kind, task.reason = wanted, reason
                task.save(update_fields=["kind", "reason"])
        elif task.status == TaskStatus.NOT_NEEDED and wanted is not None:
            # A released re-sample task whose tube turned abnormal (every member is re-checked),
            # or whose member's negative tube was re-run positive (the re-sample is due again).
            task.kind, task.reason, task.status, task.closed_at = wanted, reason, TaskStatus.OPEN, None
            task.due_sample_at, task.due_result_at = due_sample, due_result
            task.save(
                update_fields=["kind", "reason", "status", "closed_at", "due_sample_at", "due_result_at"]
            )
    RecheckTask.objects.bulk_create(create, batch_size=2000)


def _check_tubes_close(changed: list[tuple]) -> None:
    """A re-check / re-sample tube got its result: close its task, or escalate a positive single.

    Every single tube of a task counts, not only the latest: an inconclusive single that a lab
    re-runs positive after the person was sampled again still escalates the task.
    """
    now = timezone.now()
    by_tube = {c[0]: c for c in changed}
    tubes = [
        tube
        for chunk in _chunks(list(by_tube))
        for tube in Tube.objects.filter(id__in=chunk, task__isnull=False).select_related("task")
    ]
    for tube in tubes:
        task = tube.task
        _, _, _, state, reason, first_at = by_tube[tube.id]
        if task.status in (TaskStatus.POSITIVE, TaskStatus.NOT_NEEDED):
            continue
        if state == TubeState.ABNORMAL and reason == "positive":
            task.status, task.closed_at = TaskStatus.POSITIVE, now
            task.save(update_fields=["status", "closed_at"])
            PositiveFinding.objects.get_or_create(
                task=task,
                defaults={
                    "person_id": task.person_id,
                    "round_id": task.round_id,
                    "tube_barcode": tube.barcode,
                    "sampled_at": tube.first_collected_at,
                    "reported_at": first_at,
                },
            )
        elif tube.id != task.check_tube_id:
            continue  # an earlier attempt: only a positive still matters
        elif state == TubeState.NEGATIVE:
            task.status, task.closed_at = TaskStatus.NEGATIVE, now
            task.save(update_fields=["status", "closed_at"])
        else:  # inconclusive or invalid single: sample the person again
            task.status, task.check_tube, task.sampled_at = TaskStatus.OPEN, None, None
            task.due_sample_at, task.due_result_at = _protocol_deadlines(now)
            task.save(update_fields=["status", "check_tube", "sampled_at", "due_sample_at", "due_result_at"])


@transaction.atomic
def recheck_sample_register(
    *, actor: Actor | None, task: RecheckTask, barcode: str, sampled_at: dt.datetime | None = None
) -> RecheckTask:
    """The emergency team sampled the person alone: register the single tube against the task."""
    barcode = barcode.strip()
    if not barcode or len(barcode) > 64:
        raise ScreeningError(
            "bad_barcode", "管码不能为空且不超过64个字符", "the tube barcode must be 1-64 characters"
        )
    task = RecheckTask.objects.select_for_update().get(pk=task.pk)
    if task.status != TaskStatus.OPEN:
        raise ScreeningError("task_not_open", "该任务不在待采样状态", "this task is not waiting for a sample")
    if Tube.objects.filter(barcode=barcode).exists():
        raise ScreeningError(
            "tube_exists", f"管码 {barcode} 已被使用", f"tube barcode {barcode} is already in use"
        )
    sampled_at = sampled_at or timezone.now()
    tube = Tube.objects.create(
        barcode=barcode,
        round_id=task.round_id,
        purpose=task.kind,
        pool_size=1,
        first_collected_at=sampled_at,
        task=task,
    )
    Sample.objects.create(
        tube=tube, person_id=task.person_id, round_id=task.round_id, collected_at=sampled_at
    )
    task.check_tube, task.status, task.sampled_at = tube, TaskStatus.SAMPLED, sampled_at
    task.save(update_fields=["check_tube", "status", "sampled_at"])
    audit_record(
        actor=actor, action="update", object_type="recheck_task", object_id=task.pk, detail={"tube": barcode}
    )
    # A lab may have reported the single tube before it was registered (held): match it now.
    if Result.objects.filter(tube_barcode=barcode).exists():
        tubes_refresh(tube_ids=[tube.id])
        task.refresh_from_db()
    return task


@transaction.atomic
def device_token_issue(
    *, user, name: str, site: Site | None = None, lab: Lab | None = None
) -> tuple[Device, str]:
    """A token for one sampling desk's device (bound to its site) or one lab's system (its lab).

    The raw key is returned once; only its hash is stored.
    """
    from lianfang.accounts.services import token_issue

    if (site is None) == (lab is None):
        raise ScreeningError(
            "bad_binding", "设备须绑定一个采样点或一个检测机构", "bind the device to one site or one lab"
        )
    token, raw = token_issue(user=user, name=name)
    device = Device.objects.create(token=token, site=site, lab=lab)
    audit_record(
        actor=None,
        action="create",
        object_type="device",
        object_id=device.pk,
        detail={"site": site.code if site else None, "lab": lab.code if lab else None},
    )
    return device, raw


@transaction.atomic
def alert_acknowledge(*, actor: Actor, alert: PoolAlert) -> PoolAlert:
    if alert.acknowledged_at is None:
        alert.acknowledged_at, alert.acknowledged_by = timezone.now(), actor.user
        alert.save(update_fields=["acknowledged_at", "acknowledged_by"])
        audit_record(
            actor=actor,
            action="update",
            object_type="pool_alert",
            object_id=alert.pk,
            detail={"acknowledged": True},
        )
    return alert
