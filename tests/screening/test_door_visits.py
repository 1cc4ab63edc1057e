"""Door visits (入户走访) on a round's untested list: the record (history, never overwritten), the
route that records one (scoped writes, bad input answered in two languages, audited, CSRF), and
the list showing each person's latest visit (no N+1) with its "not yet visited" filter."""

from __future__ import annotations

import datetime as dt
import html

import pyarrow as pa
import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from lianfang.accounts.models import AuditEvent
from lianfang.accounts.roles import Role
from lianfang.core.times import format_time
from lianfang.screening import selectors
from lianfang.screening.models import DoorVisit, Round, VisitOutcome
from lianfang.screening.services import (
    NotFound,
    NotPermitted,
    ScreeningError,
    door_visit_record,
    round_close,
    round_open,
    samples_import,
    sites_import,
)
from tests.conftest import (
    JINJIANG,
    JJ_COMMUNITY,
    LC_COMMUNITY,
    LICHENG,
    actor,
    logged_in,
    make_person,
    make_user,
    rid,
)

# Another community of the same Jinjiang town.
JJ_OTHER = "350582001005"
assert JJ_OTHER[:9] == JJ_COMMUNITY[:9] and JJ_OTHER != JJ_COMMUNITY
BABY_BIRTH = (timezone.localdate() - dt.timedelta(days=200)).strftime("%Y%m%d")


@pytest.fixture
def world(db):
    """Round R1 over Jinjiang and Licheng, opened 6 h ago: in the grid worker's community two
    untested people, one sampled and one exempt baby; one untested person in the next community
    and one in Licheng."""
    people = {
        "u1": make_person(id_number=rid(JINJIANG, "19800101", "011"), name="走访甲", phone="13805950011"),
        "u2": make_person(id_number=rid(JINJIANG, "19810101", "021"), name="走访乙"),
        "sampled": make_person(id_number=rid(JINJIANG, "19820101", "031"), name="已采丙"),
        "baby": make_person(id_number=rid(JINJIANG, BABY_BIRTH, "041"), name="婴儿丁"),
        "next_door": make_person(
            id_number=rid(JINJIANG, "19830101", "051"), name="邻社戊", community_code=JJ_OTHER
        ),
        "lc": make_person(
            id_number=rid(LICHENG, "19840101", "061"), name="鲤城己", community_code=LC_COMMUNITY
        ),
    }
    sites_import(
        table=pa.Table.from_pylist(
            [{"site_code": "JJ-S1", "name": "晋江点", "community_code": JJ_COMMUNITY}]
        ),
        actor=None,
    )
    rnd = round_open(
        actor=None,
        code="R1",
        name="第一轮",
        scope=[JINJIANG, LICHENG],
        starts_at=timezone.now() - dt.timedelta(hours=6),
    )
    summary, _ = samples_import(
        table=pa.Table.from_pylist(
            [
                {
                    "round_code": "R1",
                    "tube_barcode": "T1",
                    "pool_size": "10",
                    "id_number": people["sampled"].id_number,
                    "site_code": "JJ-S1",
                    "collected_at": format_time(timezone.now() - dt.timedelta(hours=1)),
                }
            ]
        ),
        actor=None,
    )
    assert summary.accepted == 1
    return {"round": rnd, **people}


@pytest.fixture
def worker(db):
    return make_user("grid_jj", Role.COMMUNITY_WORKER, [JJ_COMMUNITY])


def _url(person, code: str = "R1") -> str:
    return f"/rounds/{code}/untested/{person.pk}/visit/"


def _post(client, person, outcome="not_at_home", note="", **extra):
    return client.post(_url(person), {"outcome": outcome, "note": note}, **extra)


def _messages(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


# --- the record and the service ----------------------------------------------------------------


def test_visits_are_history_and_the_list_shows_the_latest(world, worker):
    client = logged_in(worker)
    first = _post(client, world["u1"], "not_at_home", "敲门无人")
    assert first.status_code == 302 and first["Location"] == f"/rounds/R1/area/{JJ_COMMUNITY}/"
    second = _post(client, world["u1"], "will_come", "明早到点")
    assert second.status_code == 302
    visits = list(DoorVisit.objects.filter(person=world["u1"]).order_by("id"))
    assert [v.outcome for v in visits] == ["not_at_home", "will_come"]  # appended, not overwritten
    assert visits[0].note == "敲门无人" and visits[1].by == worker and visits[1].round == world["round"]
    assert (visits[1].community_id, visits[1].town_code, visits[1].county_code) == (
        JJ_COMMUNITY,
        JJ_COMMUNITY[:9],
        JINJIANG,
    )
    body = client.get(f"/rounds/R1/area/{JJ_COMMUNITY}/").content.decode()
    row = body[body.index(f'id="untested-{world["u1"].pk}"') :]
    row = row[: row.index("</tr>")]
    assert "承诺到点采样" in row and "明早到点" in row and "grid_jj" in row and "不在家</span>" not in row
    other_row = body[body.index(f'id="untested-{world["u2"].pk}"') :]
    assert "未走访" in other_row[: other_row.index("</tr>")]


def test_each_visit_is_audited(world, worker):
    _post(logged_in(worker), world["u1"], "refused")
    event = AuditEvent.objects.get(user=worker, action="create", object_type="door_visit")
    visit = DoorVisit.objects.get()
    assert event.object_id == str(visit.pk)
    assert event.detail == {"round": "R1", "person": world["u1"].pk, "outcome": "refused"}


def test_the_server_may_record_and_a_role_without_the_verb_may_not(world):
    visit = door_visit_record(actor=None, rnd=world["round"], person_id=world["lc"].pk, outcome="away")
    assert visit.by is None and visit.community_id == LC_COMMUNITY
    sampler = make_user("sampler_jj", Role.SAMPLER, [JJ_COMMUNITY])
    with pytest.raises(NotPermitted):
        door_visit_record(actor=actor(sampler), rnd=world["round"], person_id=world["u1"].pk, outcome="away")
    assert DoorVisit.objects.count() == 1


@pytest.mark.parametrize(
    ("who", "code"),
    [("sampled", "not_untested"), ("baby", "not_untested")],
)
def test_only_people_on_the_untested_list_are_visited(world, worker, who, code):
    with pytest.raises(ScreeningError) as caught:
        door_visit_record(actor=actor(worker), rnd=world["round"], person_id=world[who].pk, outcome="refused")
    assert caught.value.code == code and "未检名单" in caught.value.zh and "untested list" in caught.value.en
    assert not DoorVisit.objects.exists()


def test_a_person_outside_the_rounds_area_is_not_untested_in_it(world):
    rnd = round_open(actor=None, code="R-LC", name="鲤城", scope=[LICHENG])
    with pytest.raises(ScreeningError) as caught:
        door_visit_record(actor=None, rnd=rnd, person_id=world["u1"].pk, outcome="away")
    # The server's authority reads the round's scope: a Jinjiang person is not there at all.
    assert caught.value.code == "unknown_person" and isinstance(caught.value, NotFound)


# --- the route: bad input ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("person", "data", "zh", "en"),
    [
        ("u1", {"outcome": "knocked"}, "走访结果无效", "unknown visit outcome"),
        ("u1", {"outcome": ""}, "走访结果无效", "unknown visit outcome"),
        ("u1", {"outcome": "refused", "note": "长" * 201}, "备注不超过 200 个字", "at most 200 characters"),
        ("sampled", {"outcome": "refused"}, "不在轮次 R1 的未检名单中", "not on round R1's untested list"),
        ("baby", {"outcome": "refused"}, "不在轮次 R1 的未检名单中", "not on round R1's untested list"),
    ],
)
def test_bad_input_is_answered_in_two_languages_and_writes_nothing(world, worker, person, data, zh, en):
    client = logged_in(worker)
    response = client.post(_url(world[person]), data)
    assert response.status_code == 302
    (message,) = _messages(response)
    assert zh in message and en in message
    # Within htmx: the row comes back with the message under the form.
    fragment = client.post(_url(world[person]), data, headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    text = html.unescape(fragment.content.decode())
    assert zh in text and en in text and 'role="alert"' in text
    assert not DoorVisit.objects.exists()


def test_a_closed_round_takes_no_visit(world, worker):
    round_close(actor=None, rnd=world["round"])
    response = _post(logged_in(worker), world["u1"])
    (message,) = _messages(response)
    assert "轮次已结束" in message and "the round is closed" in message
    assert not DoorVisit.objects.exists()
    # Nor does its list offer the form any more.
    body = logged_in(worker).get(f"/rounds/R1/area/{JJ_COMMUNITY}/").content.decode()
    assert "走访甲" in body and "visit-form" not in body


def test_unknown_person_or_round_is_a_404_and_get_is_refused(world, worker):
    client = logged_in(worker)
    assert client.post("/rounds/R1/untested/987654321/visit/", {"outcome": "refused"}).status_code == 404
    assert client.post(_url(world["u1"], "NO-SUCH"), {"outcome": "refused"}).status_code == 404
    assert client.get(_url(world["u1"])).status_code == 405
    assert not DoorVisit.objects.exists()


def test_a_visit_needs_the_csrf_token(world, worker):
    client = Client(enforce_csrf_checks=True)
    client.force_login(worker)
    assert _post(client, world["u1"]).status_code == 403
    assert not DoorVisit.objects.exists()


# --- the route: scoping --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "codes", "status"),
    [
        (Role.COMMUNITY_WORKER, [JJ_OTHER], 404),  # a grid worker of the next community
        (Role.COMMAND_OFFICE, [LICHENG], 404),  # another county's office (the round is theirs too)
        (Role.COMMUNITY_WORKER, [LC_COMMUNITY], 404),
        (Role.SAMPLER, [JJ_COMMUNITY], 403),  # the person's own community, a role without the verb
        (Role.VOLUNTEER, [JJ_COMMUNITY], 403),
    ],
)
def test_only_authority_over_the_persons_community_records(world, role, codes, status):
    user = make_user("someone", role, codes)
    before = AuditEvent.objects.filter(action="create").count()
    assert _post(logged_in(user), world["u1"]).status_code == status
    assert _post(logged_in(user), world["u1"], headers={"HX-Request": "true"}).status_code == status
    assert not DoorVisit.objects.exists()
    assert AuditEvent.objects.filter(action="create").count() == before


def test_the_round_must_be_visible(world):
    """A Jinjiang worker and a Licheng-only round: the round itself is not there."""
    round_open(actor=None, code="R-LC", name="鲤城", scope=[LICHENG])
    worker = make_user("grid_lc", Role.COMMUNITY_WORKER, [JJ_COMMUNITY])
    assert _post(logged_in(worker), world["u1"]).status_code == 302  # their own round works
    assert logged_in(worker).post(_url(world["u1"], "R-LC"), {"outcome": "away"}).status_code == 404
    assert DoorVisit.objects.filter(round__code="R-LC").count() == 0


def test_the_county_office_records_for_its_whole_county(world, county_user):
    assert _post(logged_in(county_user), world["next_door"], "away").status_code == 302
    assert DoorVisit.objects.get().community_id == JJ_OTHER


def test_htmx_returns_the_persons_row_with_the_visit(world, worker):
    response = _post(logged_in(worker), world["u1"], "sampled_at_home", headers={"HX-Request": "true"})
    assert response.status_code == 200
    text = response.content.decode()
    assert text.lstrip().startswith(f'<tr id="untested-{world["u1"].pk}"')
    assert "已上门采样" in text and "已登记" in text and "13805950011" in text  # a grid worker sees it


# --- the list --------------------------------------------------------------------------------


def test_not_yet_visited_filter(world, worker):
    client = logged_in(worker)
    _post(client, world["u1"], "refused")
    everyone = client.get(f"/rounds/R1/area/{JJ_COMMUNITY}/").content.decode()
    assert "走访甲" in everyone and "走访乙" in everyone and 'id="filter-unvisited"' in everyone
    unvisited = client.get(f"/rounds/R1/area/{JJ_COMMUNITY}/?unvisited=1").content.decode()
    assert "走访乙" in unvisited and "走访甲" not in unvisited
    event = AuditEvent.objects.filter(user=worker, object_type="round_untested").latest("id")
    assert event.detail["filter"] == "unvisited" and event.detail["count"] == 1
    _post(client, world["u2"], "away")
    nobody = client.get(f"/rounds/R1/area/{JJ_COMMUNITY}/?unvisited=1").content.decode()
    assert (
        "走访乙" not in nobody[nobody.index('id="untested"') :]
        and "没有未检人员" in nobody
        and 'href="?"' in nobody
    )  # way back


def test_masked_roles_see_the_visit_but_not_the_form_without_the_verb(world, worker, county_tracer):
    _post(logged_in(worker), world["u1"], "exempt_claimed")
    body = logged_in(county_tracer).get(f"/rounds/R1/area/{JJ_COMMUNITY}/").content.decode()
    assert "申请豁免" in body and "visit-form" not in body
    assert "visit-form" in logged_in(worker).get(f"/rounds/R1/area/{JJ_COMMUNITY}/").content.decode()


def test_latest_visits_cost_one_query_whatever_the_page(world, worker):
    client = logged_in(worker)
    url = f"/rounds/R1/area/{JJ_COMMUNITY}/"
    _post(client, world["u1"], "refused")
    with CaptureQueriesContext(connection) as few:
        assert client.get(url).status_code == 200
    more = [
        make_person(id_number=rid(JINJIANG, "19700101", f"{i:03d}"), name=f"加{i}") for i in range(100, 115)
    ]
    for person in more:
        _post(client, person, "not_at_home")
        _post(client, person, "will_come")
    with CaptureQueriesContext(connection) as many:
        body = client.get(url).content.decode()
    assert body.count("承诺到点采样</span>") == len(more)
    assert len(many.captured_queries) == len(few.captured_queries)
    with CaptureQueriesContext(connection) as one:
        latest = selectors.latest_visits(rnd=world["round"], person_ids=[p.pk for p in more])
        assert {v.by.username for v in latest.values()} == {"grid_jj"}
    assert len(one.captured_queries) == 1
    assert {v.outcome for v in latest.values()} == {VisitOutcome.WILL_COME}


def test_a_visit_does_not_take_anyone_off_the_untested_count(world, worker):
    """A visit is not a sample: the person stays untested (the round's counts are unchanged)."""
    _post(logged_in(worker), world["u1"], "sampled_at_home")
    rnd = Round.objects.get(code="R1")
    assert (
        selectors.untested_people(rnd=rnd, actor=actor(worker), code=JJ_COMMUNITY)
        .filter(pk=world["u1"].pk)
        .exists()
    )
