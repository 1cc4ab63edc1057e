"""Deny by default: a county user reaches nothing of another county through any route."""

from __future__ import annotations

import re
import uuid

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from lianfang.accounts.scoping import ACCESS_ATTR, SELF_GUARDED_NAMESPACES
from lianfang.accounts.services import token_issue
from lianfang.api.api import api
from lianfang.imports.models import ImportJob
from lianfang.livelihood.views import resident_token
from tests.conftest import JJ_COMMUNITY, LC_COMMUNITY, logged_in, make_person, rid
from tests.livelihood.helpers import requests_in
from tests.screening.helpers import ROUND_START, abnormal_pool
from tests.zones.helpers import zone_with_proposal

OTHER_NAME = "鲤城独有人"
OTHER_ID = rid("350502", "19750505", "555")
OWN_ID = rid("350582", "19800808", "888")
LC_TOWN = LC_COMMUNITY[:9]
LC_COUNTY = LC_COMMUNITY[:6]


def walk(patterns, prefix="", namespaces=()):
    for p in patterns:
        if isinstance(p, URLResolver):
            ns = (*namespaces, p.namespace) if p.namespace else namespaces
            yield from walk(p.url_patterns, prefix + str(p.pattern), ns)
        elif isinstance(p, URLPattern):
            yield prefix + str(p.pattern), p, namespaces


def site_routes():
    return [
        (route, p, ns)
        for route, p, ns in walk(get_resolver().url_patterns)
        if not set(ns) & SELF_GUARDED_NAMESPACES
    ]


def test_every_page_is_marked_scoped_or_public():
    unmarked = [route for route, p, _ in site_routes() if getattr(p.callback, ACCESS_ATTR, None) is None]
    assert not unmarked, f"views neither @scoped nor @public: {unmarked}"


def test_unmarked_view_is_refused(rf, county_user):
    from lianfang.accounts.scoping import JurisdictionMiddleware

    def sneaky(request):  # a view someone forgot to mark
        raise AssertionError("must not run")

    request = rf.get("/sneaky/")
    request.user = county_user
    request.resolver_match = None
    with pytest.raises(Exception) as exc:
        JurisdictionMiddleware(lambda r: None).process_view(request, sneaky, (), {})
    assert exc.type.__name__ == "Http404"


@pytest.fixture
def world(db, county_user, city_user):
    other = make_person(id_number=OTHER_ID, name=OTHER_NAME, community_code=LC_COMMUNITY, phone="13912345678")
    own = make_person(id_number=OWN_ID, name="晋江本地人", community_code=JJ_COMMUNITY)
    job = ImportJob.objects.create(
        user=city_user,
        file_path="/nonexistent.csv",
        original_name="city.csv",
        status="done",
        rejects_path="/nonexistent.rejects.csv",
        summary={"read": 1, "accepted": 1, "duplicate": 0, "held": 0, "rejected": 0},
    )
    # A Licheng round with an abnormal pool (alert, re-check task) holding the other county's person.
    from lianfang.screening.models import PoolAlert, RecheckTask

    abnormal_pool("LC", LC_COMMUNITY, OTHER_ID, starts_at=ROUND_START)
    # Licheng's case (the other person) with a Licheng close contact of the same name, and the
    # other person's positive finding awaiting the CDC.
    from tests.tracing.helpers import tracing_world

    tracing_world(
        "LC",
        LC_COMMUNITY,
        case_id=OTHER_ID,
        case_name=OTHER_NAME,
        contact_id=rid("350502", "19760606", "556"),
        contact_name=OTHER_NAME,
        contact_phone="13912345678",
        task=RecheckTask.objects.get(),
    )
    # Licheng's problem naming the person (command): no page of the problem list may show it.
    from lianfang.command.services.problems import problem_file
    from tests.custody.helpers import custody_world

    problem = problem_file(actor=None, title=f"{OTHER_NAME} 未检", division_code=LC_COMMUNITY)
    _, proposal = zone_with_proposal("LC-Z1", LC_COMMUNITY)
    lv = requests_in(LC_COMMUNITY, "lc")
    from lianfang.tracing.models import Contact

    # The city's companions run beside Licheng's case: the other person (by their phone) and a
    # Jinjiang resident, whose row Jinjiang sees through its person, with nothing of the other's.
    from tests.companions.helpers import companion_run

    run = companion_run(
        city_user,
        OTHER_ID,
        {
            "13912345678": ("2022-03-20 08:00", "2022-03-20 08:40"),
            OWN_ID: ("2022-03-20 08:10", "2022-03-20 08:50"),
        },
        case_codes=["LC-C1"],
    )
    return {
        "run": run,
        "problem": problem,
        "contact": Contact.objects.get(case__case_code="LC-C1"),
        **custody_world(other, LC_COMMUNITY, "LC"),  # a Licheng hotel holding them, their transfer
        "lv": lv,
        "proposal": proposal,
        "other": other,
        "own": own,
        "job": job,
        "alert": PoolAlert.objects.get(),
        "task": RecheckTask.objects.get(),
    }


def fill(route: str, world) -> list[str]:
    """Concrete URLs for a route, every parameter pointing at the other county's data."""
    values = {
        "int:pk": [
            str(world["other"].pk),
            str(world["alert"].pk),
            str(world["task"].pk),
            str(world["proposal"].pk),
            str(world["problem"].pk),
        ],
        "uuid:pk": [str(world["job"].pk)],
        "uuid:run_id": [str(world["run"].pk)],
        "str:code": [LC_COMMUNITY, LC_TOWN, LC_COUNTY, "LC-R1", "LC-Z1"],
        "str:division_code": [LC_COMMUNITY, LC_TOWN, LC_COUNTY],
        "str:barcode": ["LC-T1"],
        "str:fmt": ["csv"],
        "str:kind": ["persons", "samples"],
        "str:case_code": ["LC-C1"],
        "int:order_pk": [str(world["order"].pk)],
        "int:place_pk": [str(world["place"].pk)],
        "int:stay_pk": [str(world["stay"].pk), str(world["discharged"].pk)],
        "str:token": [resident_token(LC_COMMUNITY)],
        "str:day": ["2022-03-25"],  # a briefing's window (command)
    }
    urls = ["/" + route]
    for param in re.findall(r"<([^>]+)>", route):
        options = values.get(param)
        assert options, f"no test value for route parameter <{param}> in {route}: add one here"
        urls = [u.replace(f"<{param}>", v) for u in urls for v in options]
    return urls


def assert_no_leak(response, label, typed: str = ""):
    """The other county's person appears nowhere in the answer (the user's own query echoed aside)."""
    from urllib.parse import quote

    body = b"".join(response.streaming_content) if response.streaming else response.content
    text = body.decode("utf-8", errors="replace")
    if typed:
        text = text.replace(f'value="{typed}"', "").replace(quote(typed), "").replace(f"?q={typed}", "")
    assert OTHER_NAME not in text, label
    assert OTHER_ID not in text and OTHER_ID[-4:] + "\n" not in text, label
    assert "13912345678" not in text, label


def test_county_user_reaches_nothing_of_another_county_on_any_page(world, county_user):
    client = logged_in(county_user)
    checked = 0
    for route, _p, _ns in site_routes():
        for url in fill(route, world):
            for query in ("", f"?q={OTHER_ID}", f"?q={OTHER_NAME}", "?q=lcdy", f"?q={OTHER_ID[-6:]}"):
                response = client.get(url + query)
                assert response.status_code in (200, 302, 404, 405), (url, response.status_code)
                if any(
                    part in url
                    for part in (
                        LC_COMMUNITY,
                        LC_TOWN,
                        str(world["job"].pk),
                        str(world["run"].pk),
                        "LC-R1",
                        "LC-C1",
                        "LC-Z1",
                    )
                ) or (route.startswith("people/<int") or (route.startswith("custody/") and "<int:" in route)):
                    assert response.status_code in (404, 405), f"{url} served another county's data"
                assert_no_leak(response, url + query, typed=query.removeprefix("?q="))
                checked += 1
    assert checked > 40


def test_county_user_sees_own_person(world, county_user):
    client = logged_in(county_user)
    assert client.get(f"/people/{world['own'].pk}/").status_code == 200
    assert "晋江本地人" in client.get("/people/?q=jjbdr").content.decode()


def api_routes():
    schema = api.get_openapi_schema()
    return [(path, method) for path, ops in schema["paths"].items() for method in ops]


def api_url(path: str, values: dict[str, str]) -> str:
    """``path`` with each ``{parameter}`` filled; a parameter without a value fails the walk (a new
    route's parameter needs its test value in each walker: this one, the role walker's and the
    audit walker's)."""
    for name, value in values.items():
        path = path.replace("{" + name + "}", str(value))
    left = re.findall(r"{([^}]+)}", path)
    assert not left, f"no test value for API route parameter(s) {left} in {path}: add one here"
    return path


def api_values(world) -> dict[str, str]:
    """Every API route parameter pointing at the other county's (Licheng's) objects."""
    return {
        "person_id": world["other"].pk,
        "code": LC_COMMUNITY,
        "task_id": world["task"].pk,
        "case_code": "LC-C1",
        "contact_id": world["contact"].pk,
        "order_id": world["order"].pk,
        "place_id": world["place"].pk,
    }


# Write routes and the tests that prove their scoping (roles, jurisdiction, device binding):
# tests/api/test_screening_api.py.
SCOPED_WRITES = {
    ("/api/v1/screening/rounds", "post"),
    ("/api/v1/screening/tubes", "post"),
    ("/api/v1/screening/scans", "post"),
    ("/api/v1/screening/samples", "post"),
    ("/api/v1/screening/boxes", "post"),
    ("/api/v1/screening/results", "post"),
    ("/api/v1/screening/tasks/{task_id}/sample", "post"),
    # tests/api/test_tracing_api.py, tests/api/test_custody_api.py
    ("/api/v1/tracing/cases/{case_code}/contacts", "post"),
    ("/api/v1/tracing/cases/{case_code}/trace", "post"),
    ("/api/v1/custody/transfers/{order_id}/transition", "post"),
    ("/api/v1/custody/places/{place_id}/check-in", "post"),
}


def test_every_api_route_is_scoped(world, county_user):
    _, raw = token_issue(user=county_user, name="test device")
    headers = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    from django.test import Client

    client = Client()
    routes = api_routes()
    assert len(routes) >= 5
    for path, method in routes:
        if method != "get":
            assert (path, method) in SCOPED_WRITES, f"{path}: a write route needs its own scoping test"
            assert getattr(client, method)(path, {}, content_type="application/json").status_code == 401, path
            continue
        if "/screening/" in path:
            url = path.replace("{task_id}", "1")
            assert client.get(url).status_code == 401, url
            assert client.get(url, **headers).status_code == 200, url
            continue
        url = api_url(path, api_values(world))
        for query in (
            f"q={OTHER_ID}",
            f"q={OTHER_NAME}",
            "q=lcdy",
            f"id_number={OTHER_ID}",
            f"parent={LC_TOWN}",
        ):
            # Without a token: 401, whatever the route.
            assert client.get(f"{url}?{query}").status_code == 401, url
            response = client.get(f"{url}?{query}", **headers)
            assert response.status_code in (200, 404, 422), (url, response.status_code)
            if "{" in path:
                assert response.status_code == 404, f"{path} served another county's object"
            assert_no_leak(response, url, typed=query.split("=", 1)[1])


def test_revoked_or_wrong_token_is_refused(world, county_user):
    from django.test import Client

    from lianfang.accounts.services import token_revoke

    token, raw = token_issue(user=county_user, name="t")
    client = Client()
    assert client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 200
    assert client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {raw}x").status_code == 401
    token_revoke(token=token)
    assert client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 401
    assert raw not in token.key_hash and len(token.key_hash) == 64  # stored hashed


def test_user_without_jurisdiction_sees_nothing(world, db):
    from tests.conftest import make_user

    nobody = make_user("nobody", "commander", [])
    client = logged_in(nobody)
    assert client.get(f"/people/{world['own'].pk}/").status_code == 404
    assert "晋江本地人" not in client.get("/people/?q=jjbdr").content.decode()
    assert client.get(f"/divisions/{JJ_COMMUNITY}/").status_code == 404


def test_anonymous_is_sent_to_login(world, client):
    for url in ("/", "/people/", f"/people/{world['own'].pk}/", "/divisions/", "/audit/", "/people/import/"):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/login/"), url


def test_unknown_uuid_and_pk_are_404(world, county_user):
    client = logged_in(county_user)
    assert client.get(f"/imports/{uuid.uuid4()}/").status_code == 404
    assert client.get("/people/999999999/").status_code == 404
