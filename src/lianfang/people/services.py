"""Writes of the person registry: the bulk import of the grid registry (底数) and its statistics.

``persons_import`` follows FORMATS.md (persons.csv): every row gets one outcome, checked in the
table's order of reasons, and ``read = accepted + duplicate + held + rejected``. Validation is
vectorised over whole columns; new people are written in bulk (executemany / COPY), updates by
primary key, each update audited. The file's rows are applied in file order: a key repeated in
the same file is compared with the state its earlier rows left.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from django.db import connection, transaction
from django.utils import timezone

from lianfang.accounts.scoping import Actor, require
from lianfang.accounts.services import audit_bulk, audit_record
from lianfang.core import codes
from lianfang.core.db import analyze_after_bulk, bulk_cache, bulk_insert, temp_key_table
from lianfang.core.fields import CODE, TIME, Column, parsed, screened, stored
from lianfang.core.summary import ImportSummary
from lianfang.geo.models import Division, Level
from lianfang.people import idnumbers
from lianfang.people.idnumbers import validate_resident_ids
from lianfang.people.models import IdType, Person, Tag
from lianfang.people.normalize import name_pinyin, normalize_id_type, normalize_phone, normalize_tags
from lianfang.people.placing import place_residents
from lianfang.people.rows import INSERT_COLUMNS, person_row
from lianfang.people.stats import stats_refresh

REQUIRED = ("id_number", "name", "community_code")
# The columns an import may set, in the order they are compared for an update.
FIELDS = ("name", "phone", "community_code", "address", "birth_date", "tags")
MAX_ID_LENGTH = 32

Progress = Callable[[int, int], None]


def import_columns() -> dict[str, Column]:
    """The rule of each column of persons.csv: the length of the model field it is stored in (or
    looked up against), no control characters, and its Parquet types (lianfang.core.fields)."""
    person = Person._meta.get_field
    return {
        "id_type": stored(
            person("id_type"),
            label="证件类型",
            example="居民身份证",
            note=(
                "留空即居民身份证；中文或英文代码均可",
                "blank means a resident ID; Chinese or the English code",
            ),
            allowed=tuple((t.value, str(t.label), t.value) for t in IdType),
        ),
        "id_number": stored(
            person("id_number"),
            CODE,
            label="证件号码",
            example="350582198001011237",
            required=True,
            note=(
                "身份证 18 位，末位 X 大小写均可；在 Excel 中请把该列设为“文本”格式",
                "a resident ID has 18 characters (X either case); in Excel format the column as Text",
            ),
        ),
        "name": stored(person("name"), label="姓名", example="陈建国", required=True),
        "phone": stored(person("phone"), CODE, label="手机号码", example="13805951234"),
        "community_code": stored(
            Division._meta.get_field("code"),
            CODE,
            label="社区代码",
            example="350582001004",
            required=True,
            note=(
                "12 位社区（村）代码，见“区划与底数”页；只能是本辖区的社区",
                "the 12-digit community (village) code, as on the divisions page; of your jurisdiction",
            ),
        ),
        "address": stored(
            person("address"),
            label="住址",
            example="青阳街道桂香花园3栋501",
            note=("小区、楼栋、单元、房号", "compound, building, unit, room"),
        ),
        "birth_date": parsed(
            TIME,
            label="出生日期",
            example="1980-01-01",
            note=(
                "年-月-日；身份证可不填（由号码得出）",
                "year-month-day; derived from a resident ID when blank",
            ),
        ),
        "tags": stored(
            person("tags"),
            label="重点人群标签",
            example="独居老人",
            note=("多个用分号 ; 隔开", "several separated by ;"),
            allowed=tuple((t.value, str(t.label), t.value) for t in Tag),
        ),
    }


def _column(table: pa.Table, name: str) -> np.ndarray:
    if name not in table.column_names:
        return np.full(table.num_rows, "", dtype=object)
    return np.asarray(table.column(name).to_pylist(), dtype=object)


def _parse_dates(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Parse 'YYYY-MM-DD' (or 'YYYY/MM/DD', or a datetime's date part); returns (dates, ok)."""
    out = np.empty(len(values), dtype=object)
    ok = np.ones(len(values), dtype=bool)
    for i, v in enumerate(values):
        if not v:
            out[i] = None
            continue
        try:
            out[i] = dt.date.fromisoformat(v[:10].replace("/", "-"))
        except ValueError:
            out[i] = None
            ok[i] = False
    return out, ok


def ids_validate(
    raw_types: np.ndarray, raw_numbers: np.ndarray, *, today: dt.date
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Normalise and check (id_type, id_number) columns, vectorised.

    Returns (id_types, id_numbers upper-cased, bad_type mask, bad_number mask); a row with a bad
    type is not checked for its number. A resident ID needs 18 characters, a real birth date not
    after ``today`` and the check digit; other documents 4-32 plain ASCII letters and digits.
    """
    n = len(raw_numbers)
    id_types = np.array([normalize_id_type(v) for v in raw_types], dtype=object)
    bad_type = id_types == None  # noqa: E711 - element-wise comparison
    # Element by element: np.char.upper would make a fixed-width array as wide as the longest cell.
    id_numbers = np.array([str(v).upper() for v in raw_numbers], dtype=object)
    is_rid = id_types == IdType.RESIDENT_ID
    valid = np.ones(n, dtype=bool)
    if is_rid.any():
        valid[is_rid] = validate_resident_ids(id_numbers[is_rid], today=today)
    other = ~is_rid & ~bad_type
    if other.any():
        lengths = np.fromiter((len(v) for v in id_numbers[other]), dtype=np.int64)
        plain = np.fromiter((v.isalnum() and v.isascii() for v in id_numbers[other]), dtype=bool)
        valid[other] = (lengths >= 4) & (lengths <= MAX_ID_LENGTH) & plain
    return id_types, id_numbers, bad_type, ~valid & ~bad_type


# A registry file is checked and written in slices of this many rows, all in one transaction: the
# memory is a slice's (a Python object per cell while rows are resolved), the outcome the file's.
CHUNK_ROWS = 500_000


@screened(import_columns)
def persons_import(
    *,
    table: pa.Table,
    actor: Actor | None,
    source: str = "",
    progress: Progress | None = None,
    today: dt.date | None = None,
) -> tuple[ImportSummary, np.ndarray]:
    """Import the grid registry. ``actor`` None is the server's own authority (the CLI); any
    other actor needs ``persons.import``.

    Returns the summary and, per input row, the rejection reason ("" when not rejected).
    """
    require(actor, "persons.import")
    n = table.num_rows
    summary = ImportSummary(read=n)
    today = today or timezone.localdate()
    communities = Division.objects.filter(level=Level.COMMUNITY)
    if actor is not None:
        communities = communities.inside(actor)
    known = pa.array(list(communities.values_list("code", flat=True)), type=pa.string())
    if progress:
        progress(0, n)
    parts: list[np.ndarray] = []
    updated: list[np.ndarray] = []
    touched: set[str] = set()
    with transaction.atomic(), bulk_cache(n):
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT MAX(id) FROM {Person._meta.db_table}")
            # People this import creates get ids above the mark: a key repeated in a later slice
            # changes a person of this same import (part of its creation, not an audited update).
            mark = cursor.fetchone()[0] or 0
        for offset in range(0, max(n, 1), CHUNK_ROWS):
            reasons, pks, communities = _persons_part(
                table.slice(offset, CHUNK_ROWS),
                actor=actor,
                today=today,
                known=known,
                mark=mark,
                summary=summary,
            )
            touched |= communities
            parts.append(reasons)
            updated.append(pks)
            if progress:
                progress(min(offset + CHUNK_ROWS, n), n)
        summary.updated = len(np.unique(np.concatenate(updated)))
        audit_record(
            actor=actor,
            action="import",
            object_type="persons",
            object_id=source[:64],
            detail={
                "source": source,
                **summary.as_dict(),
                "created": summary.created,
                "updated": summary.updated,
            },
        )
        # Not a row outcome: people of the file's communities given the building their address
        # names (people.placing; a building already set is kept).
        placed = place_residents(touched, actor=actor)
        summary.notes.update(residents_placed=placed.linked, residents_unmatched=placed.unmatched)
        stats_refresh()
    reasons = np.concatenate(parts)
    for reason in reasons[reasons != ""]:
        summary.reject(reason)
    analyze_after_bulk([Person._meta.db_table], n)
    assert summary.balanced, summary
    return summary, reasons


def _persons_part(
    table: pa.Table,
    *,
    actor: Actor | None,
    today: dt.date,
    known: pa.Array,
    mark: int,
    summary: ImportSummary,
) -> tuple[np.ndarray, np.ndarray, set[str]]:
    """Check, resolve and write one slice; adds to ``summary`` (accepted, duplicate, created).

    Returns the slice's rejection reasons, the ids of the stored people it updated and the
    communities of its rows not rejected.
    """
    n = table.num_rows
    reasons = np.full(n, "", dtype=object)

    def reject(mask: np.ndarray, reason: str) -> None:
        hit = mask & (reasons == "")
        reasons[hit] = reason

    # 1. missing fields, in table order (the first missing column is named).
    cols = {
        name: _column(table, name)
        for name in ("id_type", *REQUIRED, "phone", "address", "birth_date", "tags")
    }
    for name in REQUIRED:
        reject(cols[name] == "", f"missing_field:{name}")

    # 2-3. ID type, then ID number.
    id_types, id_numbers, bad_type, bad_number = ids_validate(cols["id_type"], cols["id_number"], today=today)
    reject(bad_type, "bad_id_type")
    # An invalid number's reason says what is wrong when the number shows it (full-width digits,
    # spaces, Excel's scientific notation, an implausible birth year): only the invalid rows.
    for i in np.flatnonzero(bad_number & (reasons == "")):
        reasons[i] = idnumbers.problem(cols["id_number"][i], today=today)
    is_rid = id_types == IdType.RESIDENT_ID

    # 4. community: a known community-level division, inside the actor's jurisdiction.
    in_tree = pc.is_in(pa.array(cols["community_code"].astype(str), type=pa.string()), value_set=known)
    reject(~np.asarray(in_tree.to_numpy(zero_copy_only=False), dtype=bool), "unknown_community")

    # 5. a birth date given with an implausible year (an unreadable one is not a reason: it is
    # derived from the ID below, or left blank); tags longer than their field once normalised
    # ('卧床' is stored as 'bedridden').
    dates, dates_ok = _parse_dates(cols["birth_date"])
    reject(
        np.fromiter(
            (d is not None and idnumbers.implausible_year(d.year, today=today) for d in dates),
            dtype=bool,
            count=n,
        ),
        "implausible_birth_year",
    )
    tags = np.array([normalize_tags(v) if v else "" for v in cols["tags"]], dtype=object)
    tags_max = Person._meta.get_field("tags").max_length
    reject(np.fromiter((len(t) > tags_max for t in tags), dtype=bool, count=n), "too_long:tags")

    ok = reasons == ""
    idx = np.flatnonzero(ok)
    # Normalise the accepted candidates.
    birth, birth_ok = dates[idx], dates_ok[idx]
    rid = is_rid[idx]
    derived = [
        dt.date(int(v[6:10]), int(v[10:12]), int(v[12:14])) if r else None
        for v, r in zip(id_numbers[idx], rid, strict=True)
    ]
    birth = np.array([b if b is not None else d for b, d in zip(birth, derived, strict=True)], dtype=object)
    # An unreadable optional birth_date is not a reason in the contract: derive it, or leave it blank.
    birth[~birth_ok] = np.array(derived, dtype=object)[~birth_ok]
    rows = {
        "id_type": id_types[idx],
        "id_number": id_numbers[idx],
        "name": cols["name"][idx],
        "phone": np.array([normalize_phone(v) for v in cols["phone"][idx]], dtype=object),
        "community_code": cols["community_code"][idx],
        "address": cols["address"][idx],
        "birth_date": birth,
        "tags": tags[idx],
        "sex": np.array(
            [
                ("M" if int(v[16]) % 2 else "F") if r else ""
                for v, r in zip(id_numbers[idx], rid, strict=True)
            ],
            dtype=object,
        ),
    }
    del cols
    keys = [f"{t}|{v}" for t, v in zip(rows["id_type"], rows["id_number"], strict=True)]
    existing = _existing(rows["id_type"], rows["id_number"])
    outcome, inserts, updates, audits = _resolve(keys, rows, existing, actor, mark)
    for pos, kind in enumerate(outcome):
        if kind == "out_of_jurisdiction":
            reasons[idx[pos]] = "out_of_jurisdiction"
    summary.accepted += sum(1 for k in outcome if k in ("insert", "update"))
    summary.duplicate += sum(1 for k in outcome if k == "duplicate")
    summary.created += len(inserts)
    _write(inserts, updates)
    if audits:
        audit_bulk(actor=actor, action="update", object_type="person", items=audits)
    communities = {
        rows["community_code"][pos] for pos, kind in enumerate(outcome) if kind != "out_of_jurisdiction"
    }
    return reasons, np.array([r["pk"] for r in updates if r["pk"] <= mark], dtype=np.int64), communities


def _existing(id_types: np.ndarray, id_numbers: np.ndarray) -> dict[str, dict]:
    """Stored people with the given keys, fetched through a temporary key table (one join)."""
    if len(id_numbers) == 0 or not Person.objects.exists():
        return {}
    temp_key_table("import_keys", ["id_type", "id_number"], zip(id_types, id_numbers, strict=True))
    table = Person._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT p.id, p.id_type, p.id_number, p.name, p.phone, p.community_id, p.address, p.birth_date, "
            f"p.tags, p.registered FROM {table} p JOIN import_keys k "
            "ON p.id_type = k.id_type AND p.id_number = k.id_number"
        )
        found = {}
        for pk, t, num, name, phone, community, address, birth, tags, registered in cursor.fetchall():
            if isinstance(birth, str):
                birth = dt.date.fromisoformat(birth)
            found[f"{t}|{num}"] = {
                "pk": pk,
                "name": name,
                "phone": phone,
                "community_code": community,
                "address": address,
                "birth_date": birth,
                "tags": tags,
                "registered": bool(registered),
            }
        cursor.execute("DROP TABLE IF EXISTS import_keys")
    return found


def _resolve(keys, rows, existing, actor, mark: int):
    """Apply rows in file order against the stored state; decide insert / update / duplicate.

    A stored person with an id above ``mark`` was created by this import (an earlier slice): a
    change to them is written but neither counted as an update nor audited, as within one slice.
    """
    outcome: list[str] = []
    state: dict[str, dict] = {}  # key → current record (stored or pending insert)
    inserts: dict[str, dict] = {}
    updates: dict[str, dict] = {}
    audits: list[tuple[str, dict]] = []
    for pos, key in enumerate(keys):
        new = {f: rows[f][pos] for f in FIELDS}
        current = state.get(key) or existing.get(key)
        if current is None:
            record = {
                **new,
                "id_type": rows["id_type"][pos],
                "id_number": rows["id_number"][pos],
                "sex": rows["sex"][pos],
                "registered": True,
            }
            state[key] = inserts[key] = record
            outcome.append("insert")
            continue
        stored_in = existing[key]["community_code"] if key in existing else None
        if actor is not None and stored_in and not actor.covers(stored_in):
            outcome.append("out_of_jurisdiction")
            continue
        merged = {f: (new[f] if new[f] not in ("", None) else current[f]) for f in FIELDS}
        changed = [f for f in FIELDS if merged[f] != current[f]]
        if not changed and current.get("registered", True):
            outcome.append("duplicate")
            continue
        record = {**current, **merged, "registered": True}
        state[key] = record
        if key in inserts:
            inserts[key] = record
        else:
            updates[key] = record
            if record["pk"] <= mark:
                audits.append((str(record["pk"]), {"fields": changed or ["registered"]}))
        outcome.append("update")
    return outcome, list(inserts.values()), list(updates.values()), audits


def _write(inserts: list[dict], updates: list[dict]) -> None:
    now = timezone.now()
    if inserts:
        bulk_insert(Person._meta.db_table, INSERT_COLUMNS, (_db_row(r, now) for r in inserts))
    if updates:
        table = Person._meta.db_table
        sql = (
            f"UPDATE {table} SET name=%s, name_pinyin=%s, name_initials=%s, phone=%s, phone_rev=%s, "
            "community_id=%s, town_code=%s, county_code=%s, address=%s, birth_date=%s, tags=%s, registered=%s, "
            "updated_at=%s WHERE id=%s"
        )
        params = []
        for r in updates:
            full, initials = name_pinyin(r["name"])
            c = r["community_code"]
            params.append(
                (
                    r["name"],
                    full,
                    initials,
                    r["phone"],
                    r["phone"][::-1],
                    c,
                    codes.town(c),
                    codes.county(c),
                    r["address"],
                    r["birth_date"],
                    r["tags"],
                    True,
                    now,
                    r["pk"],
                )
            )
        with connection.cursor() as cursor:
            cursor.executemany(sql, params)


def _db_row(r: dict, now: dt.datetime) -> tuple:
    return person_row(
        id_type=r["id_type"],
        id_number=r["id_number"],
        name=r["name"],
        now=now,
        phone=r["phone"],
        community_code=r["community_code"],
        address=r["address"],
        household=r.get("household", ""),
        birth_date=r["birth_date"],
        sex=r["sex"],
        tags=r["tags"],
        registered=r.get("registered", True),
    )


def persons_create_unregistered(*, people, now: dt.datetime) -> None:
    """People found outside the registry (a sample, later a case or a contact): created as
    unregistered, with the name of their first row that has one; a known key is left unchanged.

    ``people`` are ``(id_type, id_number, name)`` of already validated IDs. Call inside the
    caller's transaction."""
    names: dict[tuple[str, str], str] = {}
    for id_type, id_number, name in people:
        key = (id_type, id_number)
        if key not in names or (not names[key] and name):
            names[key] = name or ""
    rows = [
        person_row(id_type=id_type, id_number=id_number, name=name, now=now, registered=False)
        for (id_type, id_number), name in names.items()
    ]
    qn = connection.ops.quote_name
    marks = ", ".join(["%s"] * len(INSERT_COLUMNS))
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {qn(Person._meta.db_table)} ({', '.join(qn(c) for c in INSERT_COLUMNS)}) "
            f"VALUES ({marks}) ON CONFLICT (id_type, id_number) DO NOTHING",
            rows,
        )
