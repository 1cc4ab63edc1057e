"""The audit log page and its export with N events (issue 11, item 6).

    python bench/audit_log.py --events 100000 [--persons 20000] [--db sqlite | --db postgres://…]

An auditor of the city reads the newest page, the page of one person (filter by ID number) and
exports every view event (~70 % of them; an export holds at most 100,000) as CSV, in-process through the whole middleware
stack (Django's test client). Baselines in the same run: the login page (no data) for the pages
(medians of --repeat requests), and for the export a raw SELECT of the same columns written with
csv.writer (no names, no masking, no labels): the ratio is what reading like a record costs over
dumping the table.
"""

from __future__ import annotations

import argparse
import csv
import io
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import Timer, prepare_database, report  # noqa: E402


def _median_s(client, url: str, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        answer = client.get(url)
        times.append(time.perf_counter() - started)
        assert answer.status_code == 200, (url, answer.status_code)
    return round(statistics.median(times), 4)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=100_000, help="audit events to write")
    parser.add_argument("--persons", type=int, default=20_000, help="synthetic people the events name")
    parser.add_argument("--repeat", type=int, default=20, help="requests per page")
    parser.add_argument("--db", default="sqlite", help="sqlite or a PostgreSQL URL")
    args = parser.parse_args()

    db = prepare_database(args.db, "bench_audit")
    from django.db import connection
    from django.test import Client
    from django.test.utils import setup_test_environment

    from lianfang.accounts.models import AuditEvent
    from lianfang.accounts.services import user_create
    from lianfang.people.models import Person
    from lianfang.simulate.services import population_load

    setup_test_environment()
    timer = Timer()
    print(f"audit log: {args.events:,} events naming {args.persons:,} people on {db}", file=sys.stderr)
    population_load(persons=args.persons, seed=2022)
    people = list(Person.objects.values_list("pk", "id_number", "county_code"))
    office = user_create(username="office", password="bench-pass-1", role="command_office", codes=["3505"])
    auditor = user_create(username="auditor", password="bench-pass-1", role="auditor", codes=["3505"])
    rng = random.Random(2022)
    with timer.phase("write_events"):
        batch = []
        for i in range(args.events):
            pk, _id, county = people[rng.randrange(len(people))]
            kind = rng.random()
            if kind < 0.7:
                event = AuditEvent(
                    action="view", object_type="person", object_id=str(pk), detail={"masked": True}
                )
            elif kind < 0.9:
                event = AuditEvent(action="search", object_type="person", detail={"q": "chen", "hits": 12})
            else:
                event = AuditEvent(
                    action="import",
                    object_type="persons",
                    object_id=f"registry-{i}.csv",
                    detail={"read": 10, "accepted": 8, "rejected": 2, "reasons": {"invalid_id_number": 2}},
                )
            event.user, event.username, event.area, event.ip = office, "office", county, "10.0.0.1"
            batch.append(event)
            if len(batch) == 5000:
                AuditEvent.objects.bulk_create(batch)
                batch = []
        AuditEvent.objects.bulk_create(batch)

    client = Client()
    client.force_login(auditor)
    one_id = people[0][1]
    timer.baseline["login_page"] = _median_s(Client(), "/login/", args.repeat)
    timer.phases["newest_page"] = _median_s(client, "/audit/", args.repeat)
    timer.phases["person_page"] = _median_s(client, f"/audit/?person={one_id}", args.repeat)
    for name in ("login_page", "newest_page", "person_page"):
        took = timer.baseline.get(name) or timer.phases[name]
        print(f"  median   {name:<28} {took * 1000:8.1f} ms", file=sys.stderr)

    with timer.phase("export_csv"):
        answer = client.get("/audit/export.csv?action=view")  # the cap is 100,000 events an export
        assert answer.status_code == 200, answer.status_code
    exported = answer.content.count(b"\n") - 1
    with timer.phase("raw_select_csv", baseline=True):
        out = io.StringIO()
        writer = csv.writer(out)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT at, username, ip, action, object_type, object_id, detail FROM accounts_auditevent "
                "WHERE action = 'view' ORDER BY at DESC, id DESC"
            )
            for row in cursor.fetchall():
                writer.writerow(row)
    print(f"  exported {exported:,} rows", file=sys.stderr)
    report(
        "audit_log",
        args.events,
        db,
        timer,
        {
            "newest_page": ("newest_page", "login_page"),
            "person_page": ("person_page", "login_page"),
            "export_csv": ("export_csv", "raw_select_csv"),
        },
        exported_rows=exported,
    )


if __name__ == "__main__":
    main()
