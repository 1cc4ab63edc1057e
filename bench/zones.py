"""Zone page, people inside and request board with a sealed district of N residents and a day of
livelihood requests (issue 13's scale: 200,000 residents, 20,000 requests a day).

    python bench/zones.py --persons 200000 --requests 20000 [--db sqlite | --db postgres://postgres@127.0.0.1:5432/lianfang]

The registry is the synthetic city (``simulate``); the zone is sealed over every community that
has residents, so every registered person is inside it; a round over the city started a day ago
with nobody sampled yet (the round condition's counts then scan every resident: the worst case).
Requests are spread over the zone's communities and the last 24 hours, in every state. Each page
is requested --repeat times in-process through the middleware (server time); p50/p95 for a
county commander and a city commander. Baseline: the login page, measured the same way in the
same run. Goal: every page p95 < 300 ms.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import Timer, prepare_database, report  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--persons", type=int, default=200_000)
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=2022)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--db", default="sqlite")
    args = parser.parse_args()

    db = prepare_database(args.db, "bench_zones")
    from django.contrib.auth.hashers import make_password
    from django.test import Client
    from django.test.utils import setup_test_environment
    from django.utils import timezone

    from lianfang.accounts.services import user_create
    from lianfang.core import codes
    from lianfang.livelihood.models import KIND_URGENCY, Kind, Package, Request, Status
    from lianfang.livelihood.services.requests import dues
    from lianfang.people.models import Person
    from lianfang.people.stats import stats_refresh
    from lianfang.screening.services import round_open
    from lianfang.simulate.services import population_load
    from lianfang.zones.services import zone_change_record

    setup_test_environment()
    timer = Timer()
    rng = random.Random(args.seed)
    now = timezone.now()
    print(f"zones: {args.persons:,} residents, {args.requests:,} requests on {db}", file=sys.stderr)
    with timer.phase("load_population"):
        population_load(persons=args.persons, seed=args.seed)
        stats_refresh()
    area = sorted(set(Person.objects.dangerously_all().values_list("community_id", flat=True).distinct()))
    with timer.phase("designate_zone"):
        zone = zone_change_record(
            actor=None,
            zone=None,
            code="BENCH-S1",
            zone_type="sealed",
            name="封控区（全部在册居民）",
            area=area,
            at=now - dt.timedelta(days=20),
            source="file",
        )
        round_open(
            actor=None, code="BENCH-R1", name="全员筛查", scope=["3505"], starts_at=now - dt.timedelta(days=1)
        )
    with timer.phase("file_requests"):
        package = Package.objects.create(code="GG1", name="供供套餐A", contents="米、油、蔬菜")
        kinds = [Kind.FOOD] * 6 + [Kind.MEDICINE] * 3 + [Kind.DIALYSIS]
        states = [Status.NEW, Status.ACCEPTED, Status.ASSIGNED, Status.DELIVERED, Status.CLOSED]
        confirmation = make_password("123456")
        rows = []
        for i in range(args.requests):
            community = rng.choice(area)
            kind = rng.choice(kinds)
            urgency = KIND_URGENCY[kind]
            filed = now - dt.timedelta(seconds=rng.randrange(86_400))
            accept_due, deliver_due = dues("p9", urgency, filed)
            rows.append(
                Request(
                    community_id=community,
                    town_code=codes.town(community),
                    county_code=codes.county(community),
                    name="居民",
                    phone=f"138{i:08d}",
                    address=f"{i % 30 + 1}号楼{i % 600 + 101}",
                    building=f"{i % 30 + 1}号楼",
                    kind=kind,
                    urgency=urgency,
                    package=package if kind == Kind.FOOD else None,
                    detail="" if kind == Kind.FOOD else "需要",
                    source="worker",
                    status=rng.choice(states),
                    edition="p9",
                    filed_at=filed,
                    accept_due_at=accept_due,
                    deliver_due_at=deliver_due,
                    confirmation_hash=confirmation,
                )
            )
        Request.objects.bulk_create(rows, batch_size=5000)

    def user(username, codes_):
        return user_create(username=username, password="x" * 12, role="commander", codes=codes_)

    users = {"county": user("b_county", ["350582"]), "city": user("b_city", ["3505"])}
    pages = {
        "zone": f"/zones/{zone.code}/",
        "zone_list": "/zones/",
        "residents": f"/zones/{zone.code}/residents/",
        "request_board": "/livelihood/",
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

    from lianfang.zones.facts import zone_status_now

    with timer.phase("zone_status_cold"):  # the page's computation before its minute of cache
        zone_status_now(zone)
    base = measure(Client(), "/login/")
    timer.baseline["login_page_p95"] = round(statistics.quantiles(base, n=20)[18], 4)
    results = {}
    for who, u in users.items():
        client = Client()
        client.force_login(u)
        for name, url in pages.items():
            times = measure(client, url)
            p50, p95 = statistics.median(times), statistics.quantiles(times, n=20)[18]
            results[(who, name)] = p95
            timer.phases[f"{who}:{name}_p95"] = round(p95, 4)
            print(f"  {who:7} {name:14} p50 {p50 * 1000:7.1f} ms   p95 {p95 * 1000:7.1f} ms", file=sys.stderr)
    print(f"  slowest p95: {max(results.values()) * 1000:.1f} ms (goal < 300 ms)", file=sys.stderr)
    ratios = {key: "login_page_p95" for key in timer.phases if key.endswith("_p95")}
    ratios["zone_status_cold"] = "login_page_p95"
    report("zones", args.persons, db, timer, ratios, requests=args.requests, zone_communities=len(area))


if __name__ == "__main__":
    main()
