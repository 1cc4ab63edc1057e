"""Loading the synthetic city into the database (demo, tests, benchmarks)."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from lianfang.accounts.models import User
from lianfang.accounts.roles import Role
from lianfang.accounts.services import user_create
from lianfang.core.db import analyze_after_bulk, bulk_cache, bulk_insert
from lianfang.geo.models import Building, Compound
from lianfang.geo.places import buildings_create, compounds_create
from lianfang.people.models import Person
from lianfang.people.normalize import name_pinyin
from lianfang.people.rows import INSERT_COLUMNS, person_row
from lianfang.people.stats import stats_refresh
from lianfang.simulate.generator import generate_population

ROWS_PER_BATCH = 50_000  # rows of the generated table turned into Python objects at a time

DEMO_COUNTY = "350582"  # 晋江市
DEMO_TOWN = "350582001"  # 青阳街道
DEMO_COMMUNITY = "350582001004"

# One demo login per role, each with the jurisdiction that role would hold.
DEMO_ACCOUNTS = [
    ("commander", Role.COMMANDER, "3505", "指挥长 (市)"),
    ("office", Role.COMMAND_OFFICE, "3505", "指挥部办公室 (市)"),
    ("group", Role.WORKING_GROUP, "3505", "核酸检测专班 (市)"),
    ("inspector", Role.INSPECTOR, "3505", "督查组 (市)"),
    ("jinjiang", Role.COMMAND_OFFICE, DEMO_COUNTY, "晋江市指挥部 (县)"),
    ("sampler", Role.SAMPLER, DEMO_COUNTY, "晋江采样点"),
    ("lab", Role.LAB, "3505", "检测机构"),
    ("tracer", Role.TRACER, DEMO_COUNTY, "晋江流调员"),
    ("transfer", Role.TRANSFER, DEMO_COUNTY, "晋江转运组"),
    ("isolation", Role.ISOLATION, DEMO_COUNTY, "晋江隔离点"),
    ("grid", Role.COMMUNITY_WORKER, DEMO_TOWN, "青阳街道网格员"),
    ("volunteer", Role.VOLUNTEER, DEMO_COMMUNITY, "社区志愿者"),
    ("auditor", Role.AUDITOR, "3505", "审计员"),
    ("admin", Role.ADMIN, "3505", "系统管理员"),
]


def population_load(*, persons: int, seed: int = 2022, replace: bool = False, today=None) -> int:
    """Generate ``persons`` synthetic residents and bulk-load them with compounds and buildings.

    The Arrow table is read a batch at a time: with its columns as Python lists all at once the
    10 M-person load peaked at 14.0 GB; a batch at a time it peaks at 5.9 GB (SQLite, measured).
    """
    table = generate_population(persons, seed=seed, today=today)
    places = table.group_by(["community_code", "compound", "building"]).aggregate([])
    with transaction.atomic(), bulk_cache(table.num_rows):
        if replace:
            Person.objects.dangerously_all().delete()
        communities = places.column("community_code").to_pylist()
        compound_names = places.column("compound").to_pylist()
        compounds = _ensure_compounds(communities, compound_names)
        buildings = _ensure_buildings(
            compounds, communities, compound_names, places.column("building").to_pylist()
        )
        del places, communities, compound_names
        now = timezone.now()
        cache = {}

        def rows():
            for batch in table.to_batches(max_chunksize=ROWS_PER_BATCH):
                cols = {name: batch.column(name).to_pylist() for name in batch.schema.names}
                for i in range(batch.num_rows):
                    name = cols["name"][i]
                    py = cache.get(name)
                    if py is None:
                        py = cache[name] = name_pinyin(name)
                    c = cols["community_code"][i]
                    yield (
                        *person_row(
                            id_type="resident_id",
                            id_number=cols["id_number"][i],
                            name=name,
                            now=now,
                            phone=cols["phone"][i],
                            community_code=c,
                            address=cols["address"][i],
                            household=cols["household"][i],
                            birth_date=cols["birth_date"][i],
                            sex=cols["sex"][i],
                            tags=cols["tags"][i],
                            pinyin=py,
                        ),
                        buildings[(c, cols["compound"][i], cols["building"][i])],
                    )

        count = bulk_insert(Person._meta.db_table, (*INSERT_COLUMNS, "building_id"), rows())
        stats_refresh()
    analyze_after_bulk([Person._meta.db_table], count)
    return count


def _ensure_compounds(communities, compounds) -> dict[tuple[str, str], int]:
    # Coded as every path codes them (geo.places): numbered after the community's highest.
    compounds_create(zip(communities, compounds, strict=True))
    return {(c.community_id, c.name): c.pk for c in Compound.objects.all()}


def _ensure_buildings(compound_ids, communities, compounds, buildings) -> dict[tuple[str, str, str], int]:
    wanted = sorted(set(zip(communities, compounds, buildings, strict=True)))
    by_pk = Compound.objects.in_bulk(set(compound_ids.values()))
    buildings_create((by_pk[compound_ids[(c, n)]], b) for c, n, b in wanted)
    by_id = {(b.compound_id, b.name): b.pk for b in Building.objects.all()}
    return {(c, n, b): by_id[(compound_ids[(c, n)], b)] for c, n, b in wanted}


def demo_accounts_create(*, password: str) -> list[dict]:
    logins = []
    for username, role, code, label in DEMO_ACCOUNTS:
        if not User.objects.filter(username=username).exists():
            user = user_create(
                username=username,
                password=password,
                role=role,
                codes=[code],
                display_name=label,
                is_staff=(role == Role.ADMIN),
            )
            if role == Role.ADMIN:
                user.is_superuser = True
                user.save(update_fields=["is_superuser"])
        logins.append(
            {"username": username, "role": str(Role(role).label), "jurisdiction": f"{label} {code}"}
        )
    return logins


def demo_prepare(*, persons: int, seed: int, password: str) -> list[dict]:
    """The demo city: a synthetic population (once), a screening round in progress, one login per role."""
    from lianfang.simulate.screening import demo_round_prepare

    if not Person.objects.exists():
        # Ages as of today, so that the demo round (which starts today) has its under-2s.
        population_load(persons=persons, seed=seed, today=timezone.localdate())
    demo_round_prepare(seed=seed)
    return demo_accounts_create(password=password)
