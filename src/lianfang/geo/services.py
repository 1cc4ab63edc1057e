"""Loading the division tree: the shipped Quanzhou tree, or any china-division CSV layout."""

from __future__ import annotations

from importlib import resources

import pyarrow as pa
from django.db import transaction

from lianfang.core import codes
from lianfang.core.errors import Refused
from lianfang.core.fields import CODE, Column, check, stored
from lianfang.core.reader import extra_cells, read_table, write_rejects
from lianfang.core.summary import ImportSummary
from lianfang.geo.models import Division

SHIPPED_FILES = (
    "quanzhou-provinces.csv",
    "quanzhou-cities.csv",
    "quanzhou-counties.csv",
    "quanzhou-towns.csv",
    "quanzhou-communities.csv",
)


def shipped_paths():
    base = resources.files("lianfang.geo") / "data"
    return [base / name for name in SHIPPED_FILES]


def import_columns() -> dict[str, Column]:
    """The rule of the ``code`` and ``name`` columns, from the fields they are stored in."""
    return {
        "code": stored(Division._meta.get_field("code"), CODE),
        "name": stored(Division._meta.get_field("name")),
    }


def divisions_import(*, paths, rejects: list | None = None) -> ImportSummary:
    """Load divisions from CSV/XLSX/Parquet files with ``code`` and ``name`` columns.

    The level and parent come from the code itself (2 → 4 → 6 → 9 → 12 digits), so one
    loader takes the china-division files of every level, in any order. Reasons, in order:
    ``extra_cells`` (a CSV row with more cells than the header), ``bad_characters:<col>`` and
    ``too_long:<col>`` (lianfang.core.fields), ``missing_field:<col>``,
    ``bad_code`` (not 2/4/6/9/12 digits), ``unknown_parent``.
    """
    summary = ImportSummary()
    rows: list[tuple[str, str, dict]] = []
    shifted: list[bool] = []
    broken: list[str] = []
    columns = import_columns()
    for path in paths:
        table = read_table(path, columns=columns)
        broken += check(table, columns).tolist()
        cols = table.column_names
        code_list = table.column("code").to_pylist() if "code" in cols else [""] * table.num_rows
        names = table.column("name").to_pylist() if "name" in cols else [""] * table.num_rows
        flags = extra_cells(table)
        shifted += flags.to_pylist() if flags is not None else [False] * table.num_rows
        originals = table.to_pylist() if rejects is not None else None
        for i, (code, name) in enumerate(zip(code_list, names, strict=True)):
            rows.append((code, name, originals[i] if originals else {}))
    summary.read = len(rows)
    existing = dict(Division.objects.values_list("code", "name"))
    known = set(existing)
    candidates: dict[str, str] = {}
    outcome: list[str | None] = []
    for (code, name, _), extra, rule in zip(rows, shifted, broken, strict=True):
        reason = None
        if extra:
            reason = "extra_cells"
        elif rule:
            reason = rule
        elif not code:
            reason = "missing_field:code"
        elif not name:
            reason = "missing_field:name"
        elif not codes.is_code(code):
            reason = "bad_code"
        outcome.append(reason)
        if reason is None:
            candidates[code] = name
    # Parents may come later in the same files: resolve against the DB and the whole input.
    new: list[Division] = []
    changed: list[Division] = []
    seen: set[str] = set()
    for i, (code, name, original) in enumerate(rows):
        reason = outcome[i]
        if reason is None and (parent := codes.parent(code)) is not None:
            if parent not in known and parent not in candidates:
                reason = "unknown_parent"
        if reason is not None:
            summary.reject(reason)
            if rejects is not None:
                rejects.append((original, reason))
            continue
        if code in seen or existing.get(code) == name:
            summary.duplicate += 1
            continue
        seen.add(code)
        division = Division(
            code=code,
            name=name,
            level=codes.level(code),
            parent_id=codes.parent(code),
        )
        (changed if code in existing else new).append(division)
        summary.accepted += 1
    new.sort(key=lambda d: len(d.code))  # parents before children
    with transaction.atomic():
        Division.objects.bulk_create(new, batch_size=1000)
        Division.objects.bulk_update(changed, ["name"], batch_size=1000)
    return summary


def divisions_import_files(*, paths, actor=None, rejects_path=None) -> ImportSummary:
    """The ``divisions`` import kind: several files at once (parents may come in a later file),
    by server authority only (the division tree is everybody's reference data)."""
    if actor is not None:
        raise Refused(
            "server_only", "区划只能由服务器命令导入", "divisions are imported from the command line only"
        )
    rejects: list = []
    summary = divisions_import(paths=paths, rejects=rejects)
    if rejects_path:
        # Every column of every file (rows of a file with extra cells carry one more).
        names = list(dict.fromkeys(name for row, _ in rejects for name in row)) or ["code", "name"]
        schema = pa.schema([(name, pa.string()) for name in names])
        table = pa.Table.from_pylist([r for r, _ in rejects], schema=schema)
        write_rejects(rejects_path, table, [reason for _, reason in rejects])
    return summary


def divisions_load_shipped() -> ImportSummary:
    """Load (or refresh) Quanzhou's division tree shipped with the package. Safe to run again."""
    return divisions_import(paths=shipped_paths())
