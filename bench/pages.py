"""Server time per page with N people loaded, for a county user and a city user.

    python bench/pages.py --persons 1000000 [--db sqlite | --db postgres://postgres@127.0.0.1:5432/lianfang]

Each page is requested --repeat times in-process through the whole middleware stack (Django's test
client: server time, no network); p50/p95 per page and user. Baseline: the login page (public,
no data query), measured the same way in the same run. Goal: every page p95 < 300 ms, and the
county user no slower than the city user.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import Timer, prepare_database, report  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--persons", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=2022)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--db", default="sqlite")
    args = parser.parse_args()

    db = prepare_database(args.db, "bench_pages")
    from django.test import Client
    from django.test.utils import setup_test_environment

    from lianfang.accounts.services import user_create
    from lianfang.people.models import Person
    from lianfang.simulate.services import population_load

    setup_test_environment()
    timer = Timer()
    print(f"pages: {args.persons:,} people on {db}, {args.repeat} requests per page", file=sys.stderr)
    with timer.phase("load_population"):
        population_load(persons=args.persons, seed=args.seed)

    users = {
        "county": user_create(
            username="b_county", password="x" * 12, role="command_office", codes=["350582"]
        ),
        "city": user_create(username="b_city", password="x" * 12, role="command_office", codes=["3505"]),
    }
    sample = Person.objects.dangerously_all().filter(county_code="350582").order_by("id")[1000]
    town, community = sample.town_code, sample.community_id
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

    def measure(client, url) -> list[float]:
        times = []
        client.get(url)  # warm
        for _ in range(args.repeat):
            started = time.perf_counter()
            response = client.get(url)
            times.append(time.perf_counter() - started)
            assert response.status_code == 200, (url, response.status_code)
        return times

    anonymous = Client()
    base = measure(anonymous, "/login/")
    timer.baseline["login_page_p95"] = round(statistics.quantiles(base, n=20)[18], 4)
    results = {}
    for who, user in users.items():
        client = Client()
        client.force_login(user)
        for name, url in pages.items():
            times = measure(client, url)
            p50 = statistics.median(times)
            p95 = statistics.quantiles(times, n=20)[18]
            results[(who, name)] = p95
            timer.phases[f"{who}:{name}_p95"] = round(p95, 4)
            print(f"  {who:7} {name:16} p50 {p50 * 1000:7.1f} ms   p95 {p95 * 1000:7.1f} ms", file=sys.stderr)
    slowest = max(results.values())
    print(f"  slowest p95: {slowest * 1000:.1f} ms (goal < 300 ms)", file=sys.stderr)
    ratios = {key: "login_page_p95" for key in timer.phases if key.endswith("_p95")}
    report("pages", args.persons, db, timer, ratios)


if __name__ == "__main__":
    main()
