"""Generation and import of N people, against a raw bulk load of the same rows in the same run.

    python bench/people_import.py --persons 1000000 [--db sqlite | --db postgres://postgres@127.0.0.1:5432/lianfang]

Phases: generate (synthetic city, vectorised), write_csv (the registry file), import (``lianfang
import persons``: read, validate every row, insert, refresh statistics), reimport (the same file
again: every row duplicate). Baselines:

* ``raw_load`` — the same CSV read with the csv module and bulk-loaded into the same table (emptied)
  with no checks (SQLite executemany in one transaction; PostgreSQL COPY).
* ``indexed_load`` — the rows ``import`` left in ``people_person`` (as the product wrote them:
  reversed ID and phone, pinyin, county and town codes…), read back and loaded in one transaction
  into an empty copy of ``people_person`` with every index and constraint it has (PostgreSQL COPY,
  SQLite executemany; ``bench/_indexed.py``). Goal: ``import_vs_indexed`` ≤ 2×.
"""

from __future__ import annotations

import argparse
import csv
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import Timer, prepare_database, report  # noqa: E402
from _indexed import id_marks, indexed_load, written  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--persons", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=2022)
    parser.add_argument("--db", default="sqlite", help="'sqlite' or a PostgreSQL URL")
    args = parser.parse_args()

    db = prepare_database(args.db, "bench_people")
    from django.db import connection, transaction
    from django.utils import timezone

    from lianfang.core.db import bulk_insert
    from lianfang.imports.services import import_file
    from lianfang.people.models import Person
    from lianfang.simulate.generator import generate_population

    timer = Timer()
    print(f"people_import: {args.persons:,} people on {db}", file=sys.stderr)
    with timer.phase("generate"):
        table = generate_population(args.persons, seed=args.seed)
    path = Path(tempfile.mkdtemp(prefix="bench-people-")) / "persons.csv"
    columns = ["id_type", "id_number", "name", "phone", "community_code", "address", "birth_date", "tags"]
    with timer.phase("write_csv"):
        import pyarrow.csv as pacsv

        pacsv.write_csv(table.select(columns), path)
    del table

    marks = [id_marks()]
    with timer.phase("import"):
        first = import_file(kind="persons", path=path, actor=None)
    marks.append(id_marks())
    assert first.accepted == args.persons and first.rejected == 0, first
    with timer.phase("reimport"):
        second = import_file(kind="persons", path=path, actor=None)
    assert second.duplicate == args.persons, second

    # The product's rows into an indexed copy of people_person (the import's other writes, such as
    # statistics and the audit event, are the product's own work and stay out of the baseline).
    spans = written(marks)
    others = [(table, top - low) for _, table, _, low, top in spans if table != Person._meta.db_table]
    if others:
        print(f"  note     import also wrote {others}: not in the indexed baseline", file=sys.stderr)
    spans = [span for span in spans if span[1] == Person._meta.db_table]
    indexed = indexed_load(spans, ["import"])
    assert indexed["tables"][0]["rows"] == args.persons, indexed
    timer.baseline["indexed_load"] = indexed["seconds"]
    print(f"  {'baseline':8} {'indexed_load':<28} {indexed['seconds']:8.2f} s", file=sys.stderr)

    # Empty the table the way a fresh load finds it (TRUNCATE on PostgreSQL: a DELETE would leave
    # a million dead tuples and index entries that slow the baseline's COPY). CASCADE: tables
    # such as screening_rechecktask reference people_person (empty in this bench's database), and
    # PostgreSQL refuses a plain TRUNCATE of a referenced table.
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"TRUNCATE {Person._meta.db_table} CASCADE")
        else:
            cursor.execute(f"DELETE FROM {Person._meta.db_table}")

    with timer.phase("raw_load", baseline=True):
        now = timezone.now()
        with open(path, encoding="utf-8", newline="") as f:
            reader = csv.reader(f)
            next(reader)
            rows = (
                (
                    t,
                    n,
                    n[::-1],
                    name,
                    "",
                    "",
                    phone,
                    phone[::-1],
                    c,
                    c[:9],
                    c[:6],
                    addr,
                    "",
                    birth or None,
                    "",
                    tags,
                    True,
                    now,
                    now,
                )
                for t, n, name, phone, c, addr, birth, tags in reader
            )
            from lianfang.people.services import INSERT_COLUMNS

            with transaction.atomic():
                loaded = bulk_insert(Person._meta.db_table, INSERT_COLUMNS, rows)
    assert loaded == args.persons
    report(
        "people_import",
        args.persons,
        db,
        timer,
        {"import_vs_indexed": ("import", "indexed_load"), "import": "raw_load", "reimport": "raw_load"},
        goals={"import_vs_indexed": 2.0},
        indexed_load_commit_s=indexed["commit"],
    )


if __name__ == "__main__":
    main()
