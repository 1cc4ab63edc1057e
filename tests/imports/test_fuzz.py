"""Every import kind against hostile cells (issue 10, items 4 and 17): NUL and other control
characters, over-long values, formulas, full-width digits, invisible spaces, Excel's mangled
numbers, and Parquet columns of the wrong type. On SQLite and PostgreSQL alike:

* the import never raises: the summary balances (read = accepted + duplicate + held + rejected)
  and the rejects file holds exactly the rejected rows, each with a registered reason;
* a row with a control character or a value longer than its model field is rejected with
  ``bad_characters:<col>`` / ``too_long:<col>`` (the first such column in the file's order of the
  contract), whatever else is wrong with it;
* nothing stored changes because of a rejected row (its key's record is as before the import).
"""

from __future__ import annotations

import csv
import datetime as dt
import itertools

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lianfang.core.reader import ImportFileError, read_table
from lianfang.core.summary import reason_text
from lianfang.geo.models import Division
from lianfang.imports.services import import_file
from lianfang.people.models import Person
from lianfang.screening.models import Lab, Result, Sample, Site, Tube
from tests.conftest import JJ_COMMUNITY, make_person, rid
from tests.screening.helpers import setup_world

NASTY = [
    *"\x00\x01\x08\x0b\x0c\x1b\x1f\x7f\ufffe",
    *"=+-@\t\n'\",; a中9",
    "１",
    "\u200b",
    "\u3000",
    "\u00a0",
]
FORMULAS = ['=HYPERLINK("http://evil.example","x")', "+8613812345678", "-1+2", "@SUM(A1)", "=1+2"]
EDGES = ["0001-01-01 00:00", "9999-12-31 23:59:59", "1" * 25, "1e400", "-0", "nan"]
MANGLED = [
    "3.50503E+17",
    "１１０１０１１９９００１０１１２３４",
    "110101 199001011234",
    "110101\u200b199001011234",
]
POISON = st.one_of(
    st.text(alphabet=st.sampled_from(NASTY), min_size=1, max_size=12),
    st.integers(min_value=1, max_value=320).map(lambda n: "长" * n),
    st.sampled_from(FORMULAS + MANGLED + EDGES),
)
FUZZ = settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
_keys = itertools.count(1)
_BAD = {chr(c) for c in range(32) if chr(c) not in "\t\n\r"} | {"\x7f", "\ufffe", "\uffff"}


def _limit(model, field: str) -> int:
    return model._meta.get_field(field).max_length


# Per kind: the header, the columns stored as written (-> their model field's length), a valid
# row for a fresh key, and the stored state of a key. The columns are in the contract's order.
def _persons_row(k: int) -> dict:
    return {
        "id_type": "resident_id",
        "id_number": rid("350582", f"{1940 + k // 900}0101", f"{k % 900 + 100:03d}"),
        "name": f"张{k}",
        "phone": "13800000000",
        "community_code": JJ_COMMUNITY,
        "address": "青阳街道",
        "birth_date": "",
        "tags": "",
    }


KINDS = {
    "persons": {
        "limits": lambda: {
            "id_type": _limit(Person, "id_type"),
            "id_number": _limit(Person, "id_number"),
            "name": _limit(Person, "name"),
            "phone": _limit(Person, "phone"),
            "community_code": _limit(Division, "code"),
            "address": _limit(Person, "address"),
            "birth_date": None,
            "tags": _limit(Person, "tags"),
        },
        "row": _persons_row,
        "key": "id_number",
        "state": lambda key: list(Person.objects.filter(id_number=key).values()),
    },
    "sites": {
        "limits": lambda: {
            "site_code": _limit(Site, "code"),
            "name": _limit(Site, "name"),
            "community_code": _limit(Division, "code"),
            "desks": None,
        },
        "row": lambda k: {
            "site_code": f"FS{k}",
            "name": f"点{k}",
            "community_code": JJ_COMMUNITY,
            "desks": "2",
        },
        "key": "site_code",
        "state": lambda key: list(Site.objects.filter(code=key).values()),
    },
    "labs": {
        "limits": lambda: {
            "lab_code": _limit(Lab, "code"),
            "name": _limit(Lab, "name"),
            "daily_capacity": None,
        },
        "row": lambda k: {"lab_code": f"FL{k}", "name": f"检测{k}", "daily_capacity": "100"},
        "key": "lab_code",
        "state": lambda key: list(Lab.objects.filter(code=key).values()),
    },
    "samples": {
        "limits": lambda: {
            "round_code": 32,
            "tube_barcode": _limit(Tube, "barcode"),
            "pool_size": None,
            "id_type": _limit(Person, "id_type"),
            "id_number": _limit(Person, "id_number"),
            "name": _limit(Person, "name"),
            "site_code": _limit(Site, "code"),
            "collected_at": None,
            "box_code": _limit(Tube, "box_code"),
        },
        "row": lambda k: {
            "round_code": "R1",
            "tube_barcode": f"FT{k}",
            "pool_size": "5",
            "id_type": "",
            "id_number": rid("350582", "19900101", f"{k % 900 + 100:03d}"),
            "name": f"李{k}",
            "site_code": "S01",
            "collected_at": "2022-03-28 09:00",
            "box_code": "",
        },
        "key": "tube_barcode",
        "state": lambda key: (
            list(Tube.objects.filter(barcode=key).values()),
            list(Sample.objects.filter(tube__barcode=key).values()),
        ),
    },
    "results": {
        "limits": lambda: {
            "tube_barcode": _limit(Result, "tube_barcode"),
            "lab_code": _limit(Lab, "code"),
            "result": None,
            "ct_orf1ab": None,
            "ct_n": None,
            "reported_at": None,
        },
        "row": lambda k: {
            "tube_barcode": f"FR{k}",
            "lab_code": "L01",
            "result": "阴性",
            "ct_orf1ab": "",
            "ct_n": "",
            "reported_at": "2022-03-28 14:00",
        },
        "key": "tube_barcode",
        "state": lambda key: list(Result.objects.filter(tube_barcode=key).values()),
    },
    "divisions": {
        "limits": lambda: {"code": _limit(Division, "code"), "name": _limit(Division, "name")},
        "row": lambda k: {"code": f"{JJ_COMMUNITY[:9]}{500 + k % 499:03d}", "name": f"社区{k}"},
        "key": "code",
        "state": lambda key: list(Division.objects.filter(code=key).values()),
    },
}
# Keys of records stored before the fuzzing: a poisoned row may try to change them.
EXISTING = {"persons": rid("350582", "19800101", "123"), "sites": "S01", "labs": "L01"}


@pytest.fixture
def world(db, tmp_path):
    setup_world(tmp_path)
    make_person(id_number=EXISTING["persons"], name="陈建国", address="桂香花园")


def _expected_rule(cells: dict, limits: dict) -> str:
    """The reason the contract gives a row for its first broken column rule, or ''."""
    for column, limit in limits.items():
        value = cells.get(column, "")
        if any(ch in _BAD for ch in value):
            return f"bad_characters:{column}"
        if limit is not None and len(value) > limit:
            return f"too_long:{column}"
    return ""


def _poisoned_rows(data, kind: str) -> list[dict]:
    spec = KINDS[kind]
    columns = list(spec["limits"]())
    rows = []
    for i in range(data.draw(st.integers(min_value=1, max_value=3), label="rows")):
        k = next(_keys)
        row = spec["row"](k)
        if i == 0 and kind in EXISTING:
            row[spec["key"]] = EXISTING[kind]  # an update of a stored record
        column = data.draw(st.sampled_from(columns), label="column")
        poison = data.draw(POISON, label="poison")
        where = data.draw(st.sampled_from(["alone", "before", "after"]), label="where")
        row[column] = {"alone": poison, "before": poison + row[column], "after": row[column] + poison}[where]
        row["row_id"] = str(k)
        rows.append(row)
    return rows


def _check(tmp_path, kind: str, rows: list[dict]) -> None:
    spec = KINDS[kind]
    limits = spec["limits"]()
    header = [*limits, "row_id"]
    path = tmp_path / f"{kind}-{rows[0]['row_id']}.csv"
    with open(path, "w", encoding="utf-8-sig", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)
    seen = {r["row_id"]: r for r in read_table(path).to_pylist()}  # the cells as the importer gets them
    plain = {r["row_id"]: spec["row"](int(r["row_id"]))[spec["key"]] for r in rows}
    keys = {
        rid_: (EXISTING[kind] if i == 0 and kind in EXISTING else plain[rid_]) for i, rid_ in enumerate(plain)
    }
    before = {rid_: spec["state"](key) for rid_, key in keys.items()}

    rejects_path = path.with_suffix(".rejects.csv")
    summary = import_file(kind=kind, path=path, actor=None, rejects_path=rejects_path)

    assert summary.balanced, summary
    assert summary.read == len(rows)
    with open(rejects_path, encoding="utf-8-sig", newline="") as f:
        rejected = {r["row_id"]: r["reason"] for r in csv.DictReader(f)}
    assert len(rejected) == summary.rejected
    for row_id, reason in rejected.items():
        base = reason.partition(":")[0]
        assert reason_text(base) != (base, base), f"unregistered reason {reason}"
        assert spec["state"](keys[row_id]) == before[row_id], f"rejected row {row_id} ({reason}) changed data"
    for row_id, cells in seen.items():
        rule = _expected_rule(cells, limits)
        if rule:
            assert rejected.get(row_id) == rule, (cells, rejected.get(row_id))


@pytest.mark.parametrize("kind", list(KINDS))
@FUZZ
@given(data=st.data())
def test_hostile_cells_are_rejected_per_row_and_change_nothing(world, tmp_path, kind, data):
    _check(tmp_path, kind, _poisoned_rows(data, kind))


def test_every_kind_names_its_bad_rows(world, tmp_path):
    """The deterministic core of the fuzzing: a NUL, an over-long value and a formula per kind."""
    for kind, spec in KINDS.items():
        limits = spec["limits"]()
        stored = [c for c, n in limits.items() if n is not None]
        k1, k2, k3 = next(_keys), next(_keys), next(_keys)
        nul = {**spec["row"](k1), stored[-1]: "a\x00b", "row_id": str(k1)}
        long = {**spec["row"](k2), stored[0]: "x" * (limits[stored[0]] + 1), "row_id": str(k2)}
        formula = {**spec["row"](k3), "row_id": str(k3)}
        _check(tmp_path, kind, [nul, long, formula])
        path = next(tmp_path.glob(f"{kind}-{k1}.rejects.csv"))
        with open(path, encoding="utf-8-sig", newline="") as f:
            reasons = [r["reason"] for r in csv.DictReader(f)]
        assert reasons[:2] == [f"bad_characters:{stored[-1]}", f"too_long:{stored[0]}"], (kind, reasons)


def test_a_20_digit_capacity_is_a_rejected_row_not_an_overflow(world, tmp_path):
    rows = [{**KINDS["labs"]["row"](next(_keys)), "daily_capacity": "9" * 20, "row_id": "1"}]
    rows.append({**KINDS["labs"]["row"](next(_keys)), "daily_capacity": "2147483647", "row_id": "2"})
    _check(tmp_path, "labs", rows)
    assert Lab.objects.filter(daily_capacity=2147483647).count() == 1


# --- ID numbers: what is wrong with them (item 17) -------------------------------------------


@pytest.mark.parametrize(
    ("number", "reason"),
    [
        ("3.50503E+17", "id_number_excel"),
        ("3.50503e17", "id_number_excel"),
        ("350582198001011000", "id_number_excel"),  # Excel's 15 digits
        ("３５０５８２１９８００１０１１２３Ｘ", "id_number_fullwidth"),
        ("350582 19800101123X", "id_number_spaces"),
        ("350582\u200b19800101123X", "id_number_spaces"),
        ("350582\u300019800101123X", "id_number_spaces"),
        (rid("350582", "18500101", "123"), "implausible_birth_year"),
        (rid("350582", "29900101", "123"), "implausible_birth_year"),
        ("350582198001011230", "invalid_id_number"),
    ],
)
def test_an_invalid_id_number_says_what_is_wrong(world, tmp_path, number, reason):
    for kind in ("persons", "samples"):
        k = next(_keys)
        row = {**KINDS[kind]["row"](k), "id_number": number, "row_id": str(k)}
        _check(tmp_path, kind, [row])
        with open(next(tmp_path.glob(f"{kind}-{k}.rejects.csv")), encoding="utf-8-sig", newline="") as f:
            assert [r["reason"] for r in csv.DictReader(f)] == [reason], kind
        zh, en = reason_text(reason)
        assert zh != reason and en != reason


def test_an_id_number_excel_kept_as_a_number_says_so(world, tmp_path):
    """In an XLSX number cell Excel keeps 15 digits: the ID comes back ending in 000."""
    from openpyxl import Workbook

    path = tmp_path / "ids.xlsx"
    wb = Workbook()
    wb.active.append(["id_number", "name", "community_code"])
    wb.active.append([3.50582198001011e17, "张伟", JJ_COMMUNITY])  # typed into a number cell
    wb.save(path)
    rejects = tmp_path / "ids.rejects.csv"
    summary = import_file(kind="persons", path=path, actor=None, rejects_path=rejects)
    assert summary.reasons == {"id_number_excel": 1}
    with open(rejects, encoding="utf-8-sig", newline="") as f:
        assert [r["id_number"] for r in csv.DictReader(f)] == ["350582198001011000"]


def test_an_implausible_birth_date_column_is_rejected(world, tmp_path):
    rows = []
    for birth in ("1850-01-01", "2999-01-01", "1980-01-01"):
        k = next(_keys)
        rows.append({**KINDS["persons"]["row"](k), "birth_date": birth, "row_id": str(k)})
    _check(tmp_path, "persons", rows)
    with open(next(tmp_path.glob(f"persons-{rows[0]['row_id']}.rejects.csv")), encoding="utf-8-sig") as f:
        assert [r["reason"] for r in csv.DictReader(f)] == ["implausible_birth_year"] * 2


def test_tags_longer_than_their_field_once_normalised_are_rejected(world, tmp_path):
    k = next(_keys)
    many = ";".join(f"标签{i}" for i in range(60))[:200]  # fits as written, not once normalised
    row = {**KINDS["persons"]["row"](k), "tags": many + ";卧床" * 0, "row_id": str(k)}
    assert len(row["tags"]) <= 200
    _check(tmp_path, "persons", [row])


# --- Parquet columns of the wrong type (item 14) ---------------------------------------------

PARQUET_TYPES = {
    "text": lambda n: pa.array([f"v{i}" for i in range(n)]),
    "integer": lambda n: pa.array(np.arange(n, dtype=np.int64)),
    "number": lambda n: pa.array(np.arange(n) + 0.5),
    "time": lambda n: pa.array([dt.datetime(2022, 3, 28, 1, 0, tzinfo=dt.UTC)] * n),
    "bool": lambda n: pa.array([True] * n),
    "nested": lambda n: pa.array([["a", "b"]] * n),
}
ACCEPTS = {
    "persons": {
        "id_number": {"text", "integer"},
        "name": {"text"},
        "tags": {"text"},
        "birth_date": {"text", "time"},
        "phone": {"text", "integer"},
    },
    "samples": {
        "pool_size": {"text", "integer", "number"},
        "collected_at": {"text", "time"},
        "name": {"text"},
    },
    "labs": {"name": {"text"}, "daily_capacity": {"text", "integer", "number"}},
}


@pytest.mark.parametrize("kind", list(ACCEPTS))
@FUZZ
@given(data=st.data())
def test_parquet_columns_of_the_wrong_type_are_refused_by_name(world, tmp_path, kind, data):
    n = 3
    rows = [KINDS[kind]["row"](next(_keys)) for _ in range(n)]
    table = pa.Table.from_pylist(rows)
    chosen = {c: data.draw(st.sampled_from(sorted(PARQUET_TYPES)), label=c) for c in ACCEPTS[kind]}
    for column, family in chosen.items():
        table = table.set_column(table.column_names.index(column), column, PARQUET_TYPES[family](n))
    path = tmp_path / f"{kind}-{next(_keys)}.parquet"
    pq.write_table(table, path)
    wrong = sorted(c for c, family in chosen.items() if family not in ACCEPTS[kind][c])
    if wrong:
        with pytest.raises(ImportFileError) as info:
            import_file(kind=kind, path=path, actor=None)
        assert info.value.code == "wrong_type"
        for column in wrong:
            assert f'column "{column}"' in info.value.message_en and f"“{column}”" in info.value.message_zh
        for column in set(chosen) - set(wrong):
            assert f'column "{column}"' not in info.value.message_en
    else:
        summary = import_file(kind=kind, path=path, actor=None)
        assert summary.balanced and summary.read == n
