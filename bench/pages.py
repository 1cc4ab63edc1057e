"""Server time per page with N people loaded, for users of a city, a county, a town and a community.

    python bench/pages.py --persons 1000000 [--db sqlite | --db postgres://postgres@127.0.0.1:5432/lianfang]
        [--reuse [DIR]]   # keep the registry an earlier run loaded (SQLite: its data directory)

Each page is requested --repeat times in-process through the whole middleware stack (Django's test
client: server time, no network); p50/p95 per page and user. Baseline: the login page (public,
no data query), measured the same way in the same run. Goal (issue 16): every page p95 < 150 ms,
and the county user no slower than the city user on any search. For a page over its goal the run
prints the plan of that page's slowest query (EXPLAIN ANALYZE on PostgreSQL, EXPLAIN QUERY PLAN on
SQLite).

Besides one person's own name, initials, ID tail and phone, the worst searches of the registry
for both users: its most common initials and initial letter, its most common surname and that
surname's pinyin (the most matches for a name or pinyin prefix), and a 3-digit ID tail (the
shortest the search takes). The run prints which they were.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import Timer, prepare_database, report  # noqa: E402

GOAL_S = 0.150  # every page's p95 (issue 16)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--persons", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=2022)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--db", default="sqlite")
    parser.add_argument(
        "--reuse",
        nargs="?",
        const="kept",
        help="keep the registry of an earlier run (PostgreSQL: its database; SQLite: give its data "
        "directory, printed by that run); migrations still run, so new indexes are built on it",
    )
    parser.add_argument(
        "--no-freeze",
        action="store_true",
        help="leave the start-up objects to the garbage collector (as servers did before gc.freeze)",
    )
    args = parser.parse_args()

    db = prepare_database(args.db, "bench_pages", reuse_dir=args.reuse)
    from django.conf import settings
    from django.db import connection
    from django.db.models import Count, F
    from django.db.models.functions import Left
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, setup_test_environment

    from lianfang.accounts.models import User
    from lianfang.accounts.services import user_create
    from lianfang.people.models import Person
    from lianfang.people.normalize import name_pinyin
    from lianfang.simulate.services import population_load

    setup_test_environment()
    timer = Timer()
    print(f"pages: {args.persons:,} people on {db}, {args.repeat} requests per page", file=sys.stderr)
    loaded = Person.objects.dangerously_all().count()
    if loaded:
        if loaded != args.persons:
            raise SystemExit(f"--reuse: the kept registry holds {loaded:,} people, not {args.persons:,}")
        print(f"  reused   {loaded:,} people in {settings.DATABASES['default']['NAME']}", file=sys.stderr)
    else:
        print(f"  data     {settings.DATABASES['default']['NAME']}", file=sys.stderr)
        with timer.phase("load_population"):
            population_load(persons=args.persons, seed=args.seed)

    def user(username, codes, role="command_office"):
        found = User.objects.filter(username=username).first()
        return found or user_create(username=username, password="x" * 12, role=role, codes=codes)

    sample = Person.objects.dangerously_all().filter(county_code="350582").order_by("id")[1000]
    town, community = sample.town_code, sample.community_id
    users = {
        "city": user("b_city", ["3505"]),
        "county": user("b_county", ["350582"]),
        "town": user("b_town", [town]),
        "community": user("b_community", [community], role="community_worker"),
    }
    pages = {
        "home": "/",
        "divisions": "/divisions/",
        "county": "/divisions/350582/",
        "town": f"/divisions/{town}/",
        "community": f"/divisions/{community}/",
        "search_name": f"/people/?q={sample.name}",
        "search_pinyin": f"/people/?q={sample.name_initials}",
        "search_id_tail": f"/people/?q={sample.id_number[-6:]}",
        "search_phone": f"/people/?q={sample.phone}",
        "person": f"/people/{sample.pk}/",
    }
    # The worst searches: the most matches a prefix of each kind has in this registry.
    everyone = Person.objects.dangerously_all()

    def commonest(expr):
        row = everyone.annotate(k=expr).values("k").annotate(n=Count("id")).order_by("-n", "k").first()
        return row["k"]

    surname = commonest(Left("name", 1))
    worst = {
        "search_initials_common": commonest(F("name_initials")),
        "search_letter": commonest(Left("name_initials", 1)),
        "search_surname": surname,
        "search_surname_pinyin": name_pinyin(surname)[0],
        "search_id_tail3": sample.id_number[-3:],
    }
    print("  worst    " + ", ".join(f"{k[7:]} {v!r}" for k, v in worst.items()), file=sys.stderr)
    pages.update({name: f"/people/?q={q}" for name, q in worst.items()})

    def slowest_plan(client, url) -> str:
        """How much of the page is the database, and the plan of its slowest query."""
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            client.get(url)
            page = time.perf_counter() - started
        queries = captured.captured_queries
        in_db = sum(float(q["time"]) for q in queries)
        query = max(queries, key=lambda q: float(q["time"]))["sql"]
        explain = (
            "EXPLAIN (ANALYZE, BUFFERS) " if connection.vendor == "postgresql" else "EXPLAIN QUERY PLAN "
        )
        with connection.cursor() as cursor:
            cursor.execute(explain + query)
            rows = cursor.fetchall()
        plan = "\n".join("    " + " | ".join(str(c) for c in row) for row in rows)
        head = f"    {len(queries)} queries, {in_db * 1000:.1f} ms of the page's {page * 1000:.1f} ms in the database"
        return f"{head}\n    slowest: {query[:400]}\n{plan}"

    cpu: dict[str, list[float]] = {}

    def measure(client, url) -> list[float]:
        """Wall times of ``url``; its CPU times (this process's: Django, templates and, on SQLite,
        the queries) go to ``cpu[url]``: on a shared machine the wall time also holds the waits for
        a core, the CPU time does not."""
        times, cpu[url] = [], []
        client.get(url)  # warm
        for _ in range(args.repeat):
            started, started_cpu = time.perf_counter(), time.process_time()
            response = client.get(url)
            times.append(time.perf_counter() - started)
            cpu[url].append(time.process_time() - started_cpu)
            assert response.status_code == 200, (url, response.status_code)
        return times

    if not args.no_freeze:
        from lianfang.config.memory import startup_freeze

        startup_freeze()  # as every server worker does once started (config/wsgi.py)
    anonymous = Client()
    base = measure(anonymous, "/login/")
    timer.baseline["login_page_p95"] = round(statistics.quantiles(base, n=20)[18], 4)
    timer.baseline["login_page_cpu_p50"] = round(statistics.median(cpu["/login/"]), 4)
    results = {}
    above = {"town": {"county"}, "community": {"county", "town"}}  # not theirs: 404
    for who, user in users.items():
        client = Client()
        client.force_login(user)
        for name, url in pages.items():
            if name in above.get(who, ()):
                continue
            times = measure(client, url)
            p50 = statistics.median(times)
            p95 = statistics.quantiles(times, n=20)[18]
            results[(who, name)] = p95
            timer.phases[f"{who}:{name}_p95"] = round(p95, 4)
            cpu50 = statistics.median(cpu[url])
            timer.phases[f"{who}:{name}_cpu_p50"] = round(cpu50, 4)
            print(
                f"  {who:9} {name:22} p50 {p50 * 1000:7.1f} ms   p95 {p95 * 1000:7.1f} ms   cpu p50 {cpu50 * 1000:6.1f} ms",
                file=sys.stderr,
            )
            if p95 > GOAL_S:
                print(
                    f"  over the goal; its slowest query's plan:\n{slowest_plan(client, url)}",
                    file=sys.stderr,
                )
    slowest = max(results.values())
    print(f"  slowest p95: {slowest * 1000:.1f} ms (goal < {GOAL_S * 1000:.0f} ms)", file=sys.stderr)
    slower = [
        f"{name} ({results[('county', name)] * 1000:.0f} ms vs {results[('city', name)] * 1000:.0f} ms)"
        for name in pages
        if name.startswith("search") and results[("county", name)] > results[("city", name)] * 1.1 + 0.005
    ]
    print(
        f"  searches where the county user is slower than the city user: {', '.join(slower) or 'none'}",
        file=sys.stderr,
    )
    ratios = {key: "login_page_p95" for key in timer.phases if key.endswith("_p95")}
    ratios.update({key: "login_page_cpu_p50" for key in timer.phases if key.endswith("_cpu_p50")})
    report("pages", args.persons, db, timer, ratios)


if __name__ == "__main__":
    main()
