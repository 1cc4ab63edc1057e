"""A screening round in progress for the demo city: every screen has something true to show.

Built through the real services (the same importer as samples.csv and results.csv), from the
registry already loaded: a site per town, a few labs, a city-wide round opened ``hours_in`` hours
ago, most people sampled in 10-person pools over those hours, results for the older tubes (a few
abnormal and invalid pools among them), and re-check teams at work on some of the abnormal pools.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
from django.db import transaction
from django.utils import timezone

from lianfang.core.times import format_time
from lianfang.people.models import Person
from lianfang.screening import services
from lianfang.screening.models import PoolAlert, RecheckTask, Round, TaskStatus
from lianfang.simulate.arrays import times

DEMO_ROUND = "QZ-R3"
LABS = [
    ("LAB-DA", "泉州迪安医学检验所", 120_000),
    ("LAB-JY", "泉州金域医学检验所", 100_000),
    ("LAB-CDC", "泉州市疾控中心实验室", 30_000),
    ("LAB-FY", "泉州市第一医院检验科", 20_000),
]


def _local(ts: np.ndarray) -> pa.Array:
    """Epoch seconds → 'YYYY-MM-DD HH:MM:SS' in Asia/Shanghai (the samples.csv layout)."""
    return times(ts + 8 * 3600)


def demo_round_prepare(*, seed: int = 2022, hours_in: float = 14.0, coverage: float = 0.9) -> Round | None:
    """Create the demo round once; returns it (None when there is nobody to screen)."""
    existing = Round.objects.filter(code=DEMO_ROUND).first()
    if existing is not None:
        return existing
    people = list(
        Person.objects.filter(registered=True)
        .order_by("community_id", "household", "id")
        .values_list("id_type", "id_number", "community_id", "town_code")
    )
    if not people:
        return None
    rng = np.random.default_rng(seed)
    now = timezone.now()
    start = now - dt.timedelta(hours=hours_in)
    with transaction.atomic():
        towns = sorted({p[3] for p in people})
        first_community = {}
        for _, _, community, town in people:
            first_community.setdefault(town, community)
        sites_table = pa.table(
            {
                "site_code": [f"S{t}" for t in towns],
                "name": [f"{t[-3:]}号采样点" for t in towns],
                "community_code": [first_community[t] for t in towns],
                "desks": [str(int(rng.integers(2, 8))) for _ in towns],
            }
        )
        services.sites_import(table=sites_table, actor=None, source="demo")
        services.labs_import(
            table=pa.table(
                {
                    "lab_code": [c for c, _, _ in LABS],
                    "name": [n for _, n, _ in LABS],
                    "daily_capacity": [str(k) for _, _, k in LABS],
                }
            ),
            actor=None,
            source="demo",
        )
        rnd = services.round_open(
            actor=None,
            code=DEMO_ROUND,
            name="第三轮全员核酸筛查",
            scope=["3505"],
            starts_at=start,  # the deadline: the protocol's round hours after the start
        )
    n = len(people)
    sampled = np.flatnonzero(rng.random(n) < coverage)
    # People come down in household order; 10 to a tube. Sampling ramps up in the morning.
    tube_no = np.arange(len(sampled)) // 10
    n_tubes = int(tube_no[-1]) + 1 if len(sampled) else 0
    elapsed = hours_in * 3600 * rng.random(n_tubes) ** 0.8  # a morning rush, then steady
    tube_time = start.timestamp() + elapsed  # every site works at once, the city over
    collected = tube_time[tube_no] + rng.integers(0, 120, len(sampled))
    id_types = [people[i][0] for i in sampled]
    id_numbers = [people[i][1] for i in sampled]
    towns_of = [people[i][3] for i in sampled]
    samples = pa.table(
        {
            "round_code": [DEMO_ROUND] * len(sampled),
            "tube_barcode": [f"Q3{int(t):08d}" for t in tube_no],
            "pool_size": ["10"] * len(sampled),
            "id_type": id_types,
            "id_number": id_numbers,
            "site_code": [f"S{t}" for t in towns_of],
            "collected_at": _local(collected.astype(np.int64)),
            "box_code": [f"BX{int(t) // 40:06d}" for t in tube_no],
        }
    )
    services.samples_import(table=samples, actor=None, source="demo")
    # Results: a tube is reported 1.5-6 h after sampling, if that moment has passed.
    reported = tube_time + rng.uniform(1.5, 6, n_tubes) * 3600
    done = np.flatnonzero(reported < now.timestamp())
    draw = rng.random(len(done))
    values = np.where(
        draw < 0.002,
        "positive",
        np.where(draw < 0.003, "inconclusive", np.where(draw < 0.006, "invalid", "negative")),
    )
    labs = [LABS[i][0] for i in rng.integers(0, len(LABS), len(done))]
    ct = [
        f"{v:.1f}" if r in ("positive", "inconclusive") else ""
        for v, r in zip(rng.uniform(24, 37, len(done)), values, strict=True)
    ]
    results = pa.table(
        {
            "tube_barcode": [f"Q3{int(t):08d}" for t in done],
            "lab_code": labs,
            "result": values.tolist(),
            "ct_orf1ab": ct,
            "ct_n": ct,
            "reported_at": _local(reported[done].astype(np.int64)),
        }
    )
    services.results_import(table=results, actor=None, source="demo")
    # The command has signed for the older alerts; the last few are still waiting.
    older = PoolAlert.objects.filter(round=rnd).order_by("-tube__resulted_at", "-id")[3:]
    PoolAlert.objects.filter(pk__in=list(older.values_list("pk", flat=True))).update(acknowledged_at=now)
    _rechecks_in_progress(rng, now)
    return rnd


def _rechecks_in_progress(rng: np.random.Generator, now: dt.datetime) -> None:
    """Emergency teams have sampled half of the re-check tasks; some single results are back."""
    tasks = list(
        RecheckTask.objects.filter(round__code=DEMO_ROUND, status=TaskStatus.OPEN).order_by("kind", "id")
    )
    reported = []
    for k, task in enumerate(tasks[::2]):
        sampled_at = task.created_at + dt.timedelta(minutes=int(rng.integers(30, 110)))
        sampled_at = min(sampled_at, now)
        services.recheck_sample_register(
            actor=None, task=task, barcode=f"RC{task.pk:08d}", sampled_at=sampled_at
        )
        if k % 3 != 2:
            result = "positive" if k == 0 else "negative"
            reported.append((f"RC{task.pk:08d}", result, min(sampled_at + dt.timedelta(hours=3), now)))
    if reported:
        services.results_import(
            table=pa.table(
                {
                    "tube_barcode": [b for b, _, _ in reported],
                    "lab_code": ["LAB-CDC"] * len(reported),
                    "result": [r for _, r, _ in reported],
                    "reported_at": [format_time(t) for _, _, t in reported],
                }
            ),
            actor=None,
            source="demo",
        )
