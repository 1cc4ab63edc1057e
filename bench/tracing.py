"""cases.csv and contacts.csv imports and the plans report at a city's scale, against raw loads
and a raw read of the same rows in the same run.

    python bench/tracing.py --contacts 100000 [--cases 2000] [--db sqlite | --db postgres://…]

Phases: import_cases (``lianfang import cases``: checks, a trace task and a placement proposal per
case), import_contacts (checks, the rows, the merged person per key), reimport_contacts (the same
file again: every row duplicate), plans (``lianfang trace plans``: merge, upgrades, the late rule,
the CSV), plans_as_of (the facts at a time T, as zones and the briefing read them). Baselines:

* ``raw_contacts_load`` — the same contact rows, read with the csv module, inserted into the same
  table (emptied) in one transaction with no checks and no merge (SQLite executemany, PostgreSQL COPY);
* ``raw_plans`` — the stored rows read back and one CSV line per row written, with no merge and no
  rules (the floor of any plans report over this table).

The synthetic outbreak: ``--cases`` cases; each contact row names a random case, a category
(40 % close, 30 % secondary via another contact, 15 % companion, 10 % venue, 5 % general), and
one contact in ten is listed twice (the merge rule at work); 2 % of the contacts are also cases.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import random
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import Timer, prepare_database, report  # noqa: E402

CASE_HEADER = [
    "case_code",
    "id_number",
    "name",
    "classification",
    "first_positive_sampled_at",
    "reported_at",
    "found_in",
    "community_code",
]
CONTACT_HEADER = [
    "case_code",
    "category",
    "id_number",
    "name",
    "via_id_number",
    "community_code",
    "last_exposure_at",
    "registered_at",
]


def _ids(count: int, rng: random.Random) -> list[str]:
    from lianfang.people.idnumbers import check_digit

    out, seen = [], set()
    while len(out) < count:
        body = f"350582{rng.randint(1940, 2015)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}{rng.randint(0, 999):03d}"
        if body in seen:
            continue
        seen.add(body)
        out.append(body + check_digit(body))
    return out


def write_files(folder: Path, cases: int, contacts: int, seed: int) -> tuple[Path, Path]:
    rng = random.Random(seed)
    people = _ids(cases + contacts, rng)
    case_ids, contact_ids = people[:cases], people[cases:]
    start = dt.datetime(2022, 3, 10, 8, 0)  # noqa: DTZ001 - local wall time written into the file
    community = "350582001004"
    case_rows = []
    for i, number in enumerate(case_ids):
        reported = start + dt.timedelta(minutes=rng.randint(0, 20 * 24 * 60))
        case_rows.append(
            [f"C{i:06d}", number, f"病例{i}", rng.choice(["confirmed", "asymptomatic"]),
             (reported - dt.timedelta(hours=6)).strftime("%Y-%m-%d %H:%M"), reported.strftime("%Y-%m-%d %H:%M"),
             rng.choice(["quarantine", "screening", "clinic"]), community]
        )  # fmt: skip
    # 2 % of the contacts are cases too (by ID number)
    for j in range(contacts // 50):
        contact_ids[j] = case_ids[j % cases]
    categories = ["close"] * 8 + ["secondary"] * 6 + ["companion"] * 3 + ["venue"] * 2 + ["general"]
    contact_rows = []
    for j, number in enumerate(contact_ids):
        for _ in range(2 if j % 10 == 0 else 1):
            category = rng.choice(categories)
            exposure = start + dt.timedelta(minutes=rng.randint(0, 20 * 24 * 60))
            registered = exposure + dt.timedelta(hours=rng.randint(1, 96))
            contact_rows.append(
                [rng.choice(case_rows)[0], category, number, f"接触者{j}",
                 rng.choice(contact_ids) if category == "secondary" else "", community,
                 exposure.strftime("%Y-%m-%d %H:%M"), registered.strftime("%Y-%m-%d %H:%M")]
            )  # fmt: skip
    cases_path, contacts_path = folder / "cases.csv", folder / "contacts.csv"
    for path, header, rows in (
        (cases_path, CASE_HEADER, case_rows),
        (contacts_path, CONTACT_HEADER, contact_rows),
    ):
        with open(path, "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(header)
            writer.writerows(rows)
    return cases_path, contacts_path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--contacts", type=int, default=20_000)
    parser.add_argument("--cases", type=int, default=0, help="default: contacts ÷ 50")
    parser.add_argument("--seed", type=int, default=2022)
    parser.add_argument("--db", default="sqlite", help="'sqlite' or a PostgreSQL URL")
    args = parser.parse_args()
    cases = args.cases or max(args.contacts // 50, 1)

    db = prepare_database(args.db, "bench_tracing")
    from django.db import connection, transaction
    from django.utils import timezone

    from lianfang.core.db import bulk_insert
    from lianfang.core.times import parse_time
    from lianfang.imports.services import import_file
    from lianfang.tracing.facts import plans_as_of
    from lianfang.tracing.models import Case, ContactRow
    from lianfang.tracing.report import plans_report_write

    timer = Timer()
    folder = Path(tempfile.mkdtemp(prefix="bench-tracing-"))
    print(f"tracing: {cases:,} cases, {args.contacts:,} contacts on {db}", file=sys.stderr)
    with timer.phase("write_files"):
        cases_path, contacts_path = write_files(folder, cases, args.contacts, args.seed)
    with timer.phase("import_cases"):
        first = import_file(kind="cases", path=cases_path, actor=None)
    assert first.accepted == cases, first
    with timer.phase("import_contacts"):
        summary = import_file(kind="contacts", path=contacts_path, actor=None)
    rows = summary.read
    assert summary.rejected == 0 and summary.accepted + summary.duplicate == rows, summary
    with timer.phase("reimport_contacts"):
        again = import_file(kind="contacts", path=contacts_path, actor=None)
    assert again.duplicate == rows, again
    with timer.phase("plans"):
        written = plans_report_write(out=folder / "plans.csv")
    with timer.phase("plans_as_of"):
        at_t = plans_as_of(dt.datetime(2022, 3, 20, tzinfo=dt.UTC))
    print(f"  note     {rows:,} contact rows, {written:,} plans now, {len(at_t):,} at T", file=sys.stderr)

    # Baselines: the stored rows read back and written as CSV, no rules; then the same contact
    # rows loaded raw into the emptied table.
    with timer.phase("raw_plans", baseline=True):
        with connection.cursor() as cursor, open(folder / "raw.csv", "w", newline="", encoding="utf-8") as f:
            cursor.execute(
                f"SELECT id_type, id_number, name, category, case_code, edition, last_exposure_at, registered_at "
                f"FROM {ContactRow._meta.db_table} ORDER BY id_type, id_number"
            )
            writer = csv.writer(f)
            for row in cursor.fetchall():
                writer.writerow(row)
    case_ids = dict(Case.objects.values_list("case_code", "id"))
    adapt = connection.ops.adapt_datetimefield_value  # as the database stores a time (text on SQLite)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {ContactRow._meta.db_table}")
    with timer.phase("raw_contacts_load", baseline=True):
        now = timezone.now()
        with open(contacts_path, encoding="utf-8", newline="") as f:
            reader = csv.reader(f)
            next(reader)
            seen = set()
            loaded = []
            for case_code, category, number, name, via, community, exposure, registered in reader:
                exposed = parse_time(exposure)
                key = (case_code, category, number, exposed)
                if key in seen:
                    continue
                seen.add(key)
                loaded.append(
                    (case_ids[case_code], case_code, category, "resident_id", number, name, via, "", community, "",
                     adapt(exposed), adapt(parse_time(registered)), "p9", "file", adapt(now))
                )  # fmt: skip
        with transaction.atomic():
            count = bulk_insert(
                ContactRow._meta.db_table,
                ["case_id", "case_code", "category", "id_type", "id_number", "name", "via_id_number", "phone",
                 "community_code", "place", "last_exposure_at", "registered_at", "edition", "source", "created_at"],
                loaded,
            )  # fmt: skip
    assert count == summary.accepted
    report(
        "tracing",
        args.contacts,
        db,
        timer,
        {
            "import_contacts": "raw_contacts_load",
            "reimport_contacts": "raw_contacts_load",
            "plans": "raw_plans",
            "plans_as_of": "raw_plans",
        },
        cases=cases,
        contact_rows=rows,
        plans=written,
    )


if __name__ == "__main__":
    main()
