"""Custody at a city's scale: check-ins under the place lock, occupancy, the in-custody fact the
round report reads, and the overdue transfers — each against a raw baseline in the same run.

    python bench/custody.py --stays 5000 [--places 50 --units 200] [--db sqlite | --db postgres://postgres@127.0.0.1:5432/lianfang_bench]

Set-up (timed, not in the ratios): ``--stays`` registered people (the people import), ``--places``
hotels of ``--units`` rooms each (``place_create``), one live transfer order per person
(``transfer_request``, clock started 10 h ago so every close contact's order is overdue).

Timed phases and their baselines (the same rows, the same database, this process):

* ``check_in`` — ``stay_check_in`` for every person, one at a time as the hotels do (server
  authority): the place's row locked, its free rooms found, the stay written, audited.
  Baseline ``raw_check_in``: the same number of one-statement transactions that lock the place
  row, count its open stays and insert a stay row, in plain SQL, into an empty copy of the table
  (``SELECT … FOR UPDATE`` on PostgreSQL; SQLite serialises writers).
* ``places_page`` — ``selectors.places`` for a city-wide user (occupancy derived from stays).
  Baseline ``raw_occupancy``: one GROUP BY over units and open stays.
* ``in_custody`` — the ``in_custody.custody`` fact at now (what the round report reads).
  Baseline ``raw_in_custody``: the bare SELECT of person ids.
* ``overdue`` — the ``overdue.custody`` fact for a city-wide user (every order past its clock).
  Baseline ``raw_overdue``: the bare SELECT of those orders joined to their people.

Ends with one JSON line {"bench","scale","db","phases","baseline","ratio","peak_rss_mb"}.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src"))

from bench._common import Timer, prepare_database, result  # noqa: E402

CITY = "3505"


def _people(n: int) -> list[str]:
    """``n`` valid resident IDs of Jinjiang people, registered through the real import."""
    import pyarrow as pa

    from lianfang.geo.models import Division, Level
    from lianfang.people.idnumbers import check_digit
    from lianfang.people.services import persons_import

    communities = list(
        Division.objects.filter(level=Level.COMMUNITY, code__startswith="350582").values_list(
            "code", flat=True
        )
    )
    ids = []
    for k in range(n):
        body = f"350582{1950 + k % 50}{1 + k % 12:02d}{1 + k % 28:02d}{k % 1000:03d}"
        ids.append(body + check_digit(body))
    ids = sorted(set(ids))[:n]
    table = pa.table(
        {
            "id_type": ["resident_id"] * len(ids),
            "id_number": ids,
            "name": [f"隔离{k}" for k in range(len(ids))],
            "community_code": [communities[k % len(communities)] for k in range(len(ids))],
        }
    )
    summary, _ = persons_import(table=table, actor=None, source="bench")
    assert summary.accepted == len(ids), summary
    return ids


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--stays", type=int, default=5000)
    parser.add_argument("--places", type=int, default=50)
    parser.add_argument("--units", type=int, default=200)
    parser.add_argument("--db", default="sqlite")
    args = parser.parse_args()
    db = prepare_database(args.db, "custody")

    from django.contrib.auth.models import AnonymousUser  # noqa: F401 - Django is set up
    from django.db import connection, transaction
    from django.urls import reverse
    from django.utils import timezone

    from lianfang.accounts.roles import Role
    from lianfang.accounts.scoping import Actor
    from lianfang.core import plugins
    from lianfang.custody import selectors
    from lianfang.custody.models import Place, Stay, TransferOrder
    from lianfang.custody.services import place_create, stay_check_in, transfer_request

    timer = Timer()
    print(f"custody bench: {args.stays} stays, {args.places} × {args.units} rooms, {db}", file=sys.stderr)
    with timer.phase("setup"):
        ids = _people(args.stays)
        jj = "350582001004"
        places = [
            place_create(
                actor=None,
                code=f"H{p:03d}",
                name=f"酒店{p}",
                kind="hotel",
                community_code=jj,
                units=f"1-{args.units}",
            )
            for p in range(args.places)
        ]
        started = timezone.now() - dt.timedelta(hours=10)
        for number in ids:
            transfer_request(
                actor=None, id_type="resident_id", id_number=number, category="close", clock_from=started
            )
    city = Actor(user=None, role=Role.COMMAND_OFFICE, codes=(CITY,))
    reverse("custody:transfers")  # the URL resolver is built once per process, not per request

    with timer.phase("check_in"):
        for k, number in enumerate(ids):
            stay_check_in(actor=None, place=places[k % len(places)], id_type="resident_id", id_number=number)
    assert Stay.objects.count() == len(ids)

    # Baseline: a locked count-and-insert per check-in, in plain SQL, into an empty copy of the table.
    stay_t, place_t = Stay._meta.db_table, Place._meta.db_table
    with connection.cursor() as c:
        c.execute("DROP TABLE IF EXISTS bench_stay")
        c.execute(
            "CREATE TABLE bench_stay (id integer PRIMARY KEY, unit_id bigint, person_id bigint, ended_at text)"
        )
    unit_ids = {p.pk: list(p.units.order_by("label").values_list("id", flat=True)) for p in places}
    person_ids = list(Stay.objects.order_by("id").values_list("person_id", flat=True))
    lock = " FOR UPDATE" if connection.vendor == "postgresql" else ""
    with timer.phase("raw_check_in", baseline=True):
        for k, pid in enumerate(person_ids):
            place = places[k % len(places)]
            with transaction.atomic(), connection.cursor() as c:
                c.execute(f"SELECT id FROM {place_t} WHERE id = %s{lock}", [place.pk])
                c.execute(
                    "SELECT COUNT(*) FROM bench_stay WHERE unit_id IN (SELECT id FROM custody_unit WHERE place_id = %s)"
                    " AND ended_at IS NULL",
                    [place.pk],
                )
                used = c.fetchone()[0]
                c.execute(
                    "INSERT INTO bench_stay (id, unit_id, person_id, ended_at) VALUES (%s, %s, %s, NULL)",
                    [k + 1, unit_ids[place.pk][used], pid],
                )

    with timer.phase("places_page"):
        rows = list(selectors.places(actor=city))
    assert sum(r.people for r in rows) == len(ids)
    with timer.phase("raw_occupancy", baseline=True), connection.cursor() as c:
        c.execute(
            "SELECT u.place_id, COUNT(DISTINCT u.id), COUNT(s.id) FROM custody_unit u "
            f"LEFT JOIN {stay_t} s ON s.unit_id = u.id AND s.ended_at IS NULL GROUP BY u.place_id"
        )
        c.fetchall()

    now = timezone.now()
    with timer.phase("in_custody"):
        held = plugins.provider("in_custody.custody")(now)
    assert len(held) == len(ids)
    with timer.phase("raw_in_custody", baseline=True), connection.cursor() as c:
        c.execute(
            f"SELECT person_id FROM {stay_t} WHERE checked_in_at <= %s AND (ended_at IS NULL OR ended_at > %s)",
            [now, now],
        )
        set(r[0] for r in c.fetchall())

    with timer.phase("overdue"):
        late = plugins.provider("overdue.custody")(city, now)
    assert len([o for o in late if o.kind == "transfer"]) == len(ids)
    with timer.phase("raw_overdue", baseline=True), connection.cursor() as c:
        c.execute(
            f"SELECT o.id, o.due_at, p.name FROM {TransferOrder._meta.db_table} o JOIN people_person p ON p.id = o.person_id "
            "WHERE o.due_at < %s AND o.state IN ('requested', 'assigned', 'picked_up') ORDER BY o.due_at DESC",
            [now],
        )
        c.fetchall()

    ph, bl = timer.phases, timer.baseline
    ratio = {
        "check_in": round(ph["check_in"] / bl["raw_check_in"], 2),
        "places_page": round(ph["places_page"] / max(bl["raw_occupancy"], 0.001), 2),
        "in_custody": round(ph["in_custody"] / max(bl["raw_in_custody"], 0.001), 2),
        "overdue": round(ph["overdue"] / max(bl["raw_overdue"], 0.001), 2),
    }
    print(json.dumps(result("custody", args.stays, db, timer, ratio)))


if __name__ == "__main__":
    main()
