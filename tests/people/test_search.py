"""persons_search: one query per way a query matches, each in its key's byte order, inside the
actor's jurisdiction; and the indexes those queries read."""

from __future__ import annotations

import pytest
from django.db import connection

from lianfang.core import codes
from lianfang.people.models import CommunityStats, Person
from lianfang.people.selectors import persons_search, search_arms
from lianfang.web.views import _rollup
from tests.conftest import LC_COMMUNITY, actor, make_person, rid


def names(user, q, **kw):
    return [p.name for p in persons_search(actor=actor(user), q=q, **kw)]


@pytest.fixture
def people(db):
    made = {}
    for seq, (name, community) in enumerate(
        [
            ("张伟", None),  # zw / zhangwei
            ("赵文雄", None),  # zwx / zhaowenxiong
            ("周伟", None),  # zw / zhouwei
            ("张伟", LC_COMMUNITY),  # the same name in another county
            ("王志", None),  # wz / wangzhi
            ("陈建国", None),
            ("陈", None),
        ],
        start=1,
    ):
        kw = {"community_code": community} if community else {}
        county = (community or "350582")[:6]
        made[seq] = make_person(id_number=rid(county, "19800101", f"{seq:03d}"), name=name, **kw)
    return made


def test_initials_first_exact_before_longer_then_full_pinyin(people, county_user):
    # zw: the two 'zw' in registration order (id), then 'zwx'; no pinyin starts with 'zw'.
    assert names(county_user, "zw") == ["张伟", "周伟", "赵文雄"]
    # zh: no initials 'zh…'; full pinyin in byte order.
    assert names(county_user, "zh") == ["张伟", "赵文雄", "周伟"]
    # z: initials first (zw, zw, zwx by key then id), then pinyin matches not listed yet: none left.
    assert names(county_user, "Z") == ["张伟", "周伟", "赵文雄"]


def test_a_person_matching_twice_is_listed_once_and_the_limit_holds(people, county_user):
    found = persons_search(actor=actor(county_user), q="w")
    assert [p.name for p in found] == ["王志"]  # initials 'wz', and pinyin 'wangzhi' again
    assert names(county_user, "z", limit=2) == ["张伟", "周伟"]


def test_jurisdiction_county_sees_its_own_city_sees_both(people, county_user, city_user):
    assert names(county_user, "张伟") == ["张伟"]
    assert names(city_user, "张伟") == ["张伟", "张伟"]
    assert [p.county_code for p in persons_search(actor=actor(city_user), q="zw")][:2] == [
        "350582",
        "350582",
    ]  # ties by id: Jinjiang's came first


def test_name_prefix_exact_name_first(people, county_user):
    assert names(county_user, "陈") == ["陈", "陈建国"]


def test_id_number_digits_and_phone(db, county_user):
    other = make_person(id_number=rid("350582", "19800101", "234"), name="林二")
    tail = other.id_number[-4:]
    assert tail.isdigit()
    pid = rid("350582", "19800101", "201")
    person = make_person(id_number=pid, name="林一", phone="1380595" + tail)
    by = {q: [p.pk for p in persons_search(actor=actor(county_user), q=q)] for q in (pid, pid.lower())}
    assert by[pid] == by[pid.lower()] == [person.pk]
    # An 11-digit phone: the exact phone first, then ID tails, then phone tails.
    assert [p.pk for p in persons_search(actor=actor(county_user), q=person.phone)] == [person.pk]
    assert [p.pk for p in persons_search(actor=actor(county_user), q=tail)] == [other.pk, person.pk]


def test_arms():
    assert search_arms("  ") == []
    assert search_arms("ZW") == [("name_initials", "zw", True), ("name_pinyin", "zw", True)]
    assert search_arms("13805951234")[0] == ("phone_rev", "43215950831", False)
    assert search_arms("陈") == [("name", "陈", True)]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's index definitions")
def test_search_indexes_sort_bytewise_on_postgresql(db):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s", [Person._meta.db_table]
        )
        defs = dict(cursor.fetchall())
    assert 'COLLATE "C"' in defs["person_county_ini_idx"] and "county_code" in defs["person_county_ini_idx"]
    for name in (
        "person_name_idx",
        "person_ini_idx",
        "person_py_idx",
        "person_idrev_idx",
        "person_phrev_idx",
    ):
        assert 'COLLATE "C"' in defs[name], defs[name]
    # The column's own btree + varchar_pattern_ops pair is gone for the search keys.
    assert not [n for n in defs if "name_initials" in n or "name_pinyin" in n]


def test_rollup_sums_communities_up_to_counties(people, county_user, city_user):
    stats = CommunityStats.objects.all()
    by_county = _rollup(stats, codes.COUNTY)
    assert by_county["350582"]["registered"] == 6 and by_county["350502"]["registered"] == 1
    assert _rollup(stats, None)[""]["registered"] == 7
    assert _rollup(CommunityStats.objects.none(), None)[""]["registered"] == 0


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's planner")
@pytest.mark.parametrize(
    "q",
    ["陈", "zw", "zhangw", "123456", "13805951234", "350582198001010011"],
    ids=["name", "initials_and_pinyin", "pinyin", "id_tail", "phone_and_tails", "full_id"],
)
def test_a_county_users_search_reads_its_key_off_an_index(people, county_user, q):
    """Each way a query matches, as a county user runs it, is planned as an index range on its
    key, in the key's order: no sequential scan of the registry and no sort of all the matches
    (issue 16: a plan that sorted every match took 1.9 s at 1 M people). The test database is
    tiny, so the planner is told that scans and sorts are dear; it must still find an index that
    serves each arm."""
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        persons_search(actor=actor(county_user), q=q)
    table = Person._meta.db_table
    searches = [c["sql"] for c in captured.captured_queries if f'FROM "{table}"' in c["sql"]]
    arms = search_arms(q)
    assert len(searches) == len(arms), captured.captured_queries  # one query per arm (few matches)
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s", [table])
        indexes = cursor.fetchall()
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_sort = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        for sql, (key, _, _) in zip(searches, arms, strict=True):
            on_key = {name for name, definition in indexes if f"{key} COLLATE" in definition}
            assert on_key, (key, indexes)
            cursor.execute("EXPLAIN " + sql)
            plan = "\n".join(row[0] for row in cursor.fetchall())
            assert "Seq Scan" not in plan, plan
            assert "Sort" not in plan.replace("Sort Key", ""), plan
            assert any(f" using {name} on {table}" in plan for name in on_key), (key, plan)


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's planner")
def test_a_town_users_search_reads_the_towns_people_not_the_citys_key_order_on_sqlite(people):
    """Offered the search key's index, SQLite walks the whole city's key order filtering on the
    town (0.1-0.5 s at 1 M people, with or without statistics); the town's own index and a sort of
    its matches answer in milliseconds. The statistics of a big registry are faked so the planner
    is tempted the way it is at 1 M."""
    from django.test.utils import CaptureQueriesContext

    from tests.conftest import make_user

    town = people[1].town_code
    user = make_user("town_office", "command_office", [town])
    table = Person._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
        cursor.execute("DELETE FROM sqlite_stat1 WHERE tbl = %s", [table])
        cursor.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = %s", [table])
        for (index,) in cursor.fetchall():
            columns = 3 if index.startswith("person_county") else 2  # as stat1 lists them at 1 M
            per_value = {"town_code": "5748", "county_code": "90910", "community": "389"}
            first = next((n for k, n in per_value.items() if k in index), "2")
            stat = " ".join(["1000000", first, *(["1"] * (columns - 1))])
            cursor.execute("INSERT INTO sqlite_stat1 VALUES (%s, %s, %s)", [table, index, stat])
        cursor.execute("ANALYZE sqlite_schema")  # reload the statistics
    for q in ("l", "zw", "陈", "123"):
        with CaptureQueriesContext(connection) as captured:
            assert persons_search(actor=actor(user), q=q) is not None
        searches = [c["sql"] for c in captured.captured_queries if f'FROM "{table}"' in c["sql"]]
        assert searches
        with connection.cursor() as cursor:
            for sql in searches:
                cursor.execute("EXPLAIN QUERY PLAN " + sql)
                plan = " ".join(row[3] for row in cursor.fetchall())
                assert "town_code" in plan, (q, plan)
