"""The read-scoping walker for every role with a jurisdiction, at every level (issue 17).

tests/accounts/test_scoping.py walks every page and API route as a county command office; a
rule that lets one other role through (a tracer seeing every county), or that reads a town or
community jurisdiction as its whole county, went unseen. Here the same walk runs as every role of
:class:`lianfang.accounts.roles.Role` with a Jinjiang jurisdiction, and as users whose
jurisdiction is a sibling of the other person's (another town of Licheng, another community of
the same town): none of them may reach the Licheng person through any route.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.core.cache import cache
from django.test import Client

from lianfang.accounts.roles import Role
from lianfang.accounts.services import token_issue
from tests.accounts.test_scoping import (
    LC_TOWN,
    OTHER_ID,
    OTHER_NAME,
    api_routes,
    api_url,
    api_values,
    assert_no_leak,
    fill,
    site_routes,
    world,  # noqa: F401 - the fixture, shared with the county walker
)
from tests.conftest import JINJIANG, JJ_COMMUNITY, LC_COMMUNITY, actor, logged_in, make_person, make_user, rid

QUERIES = ("", f"?q={OTHER_ID}", f"?q={OTHER_NAME}", "?q=lcdy", f"?q={OTHER_ID[-6:]}")

# Jurisdictions next to the other person's community at each level: another county, another town
# of the same county, another community of the same town.
OTHER_COUNTY = JINJIANG
SIBLING_TOWN = "350502002"
SIBLING_COMMUNITY = "350502001002"
assert SIBLING_TOWN[:6] == LC_COMMUNITY[:6] and SIBLING_TOWN != LC_TOWN
assert SIBLING_COMMUNITY[:9] == LC_TOWN and SIBLING_COMMUNITY != LC_COMMUNITY

CASES = [pytest.param(role, OTHER_COUNTY, id=f"{role.value}-county") for role in Role] + [
    pytest.param(role, code, id=f"{role.value}-{level}")
    for role in (Role.COMMAND_OFFICE, Role.TRACER, Role.COMMUNITY_WORKER, Role.SAMPLER)
    for code, level in ((SIBLING_TOWN, "town"), (SIBLING_COMMUNITY, "community"), (JJ_COMMUNITY, "jj"))
]


def _must_be_404(url: str, world, jurisdiction: str) -> bool:  # noqa: F811
    """URLs that name the other person's community (or what only it holds) are not this user's."""
    if url.startswith(f"/people/{world['other'].pk}/") or LC_COMMUNITY in url:
        return True  # (other ids filled into /people/<pk>/ may be the user's own person's on PostgreSQL)
    if str(world["job"].pk) in url or str(world["run"].pk) in url:  # another user's import or run
        return True
    # The round and the town are the other user's only when the jurisdiction lies outside them.
    outside_county = not jurisdiction.startswith(LC_COMMUNITY[:6])
    outside_town = not jurisdiction.startswith(LC_TOWN)
    return (outside_county and "LC-R1" in url) or (outside_town and f"/{LC_TOWN}/" in url)


def _assert_no_leak(response, label: str, typed: list[str]) -> None:
    """:func:`assert_no_leak`; on the audit log, without the queries this walk typed (echoed there)."""
    if len(typed) == 1:
        assert_no_leak(response, label, typed=typed[0])
        return
    text = response.content.decode()
    for value in sorted(typed, key=len, reverse=True):
        text = text.replace(value, "") if value else text
    assert_no_leak(SimpleNamespace(streaming=False, content=text.encode()), label)


@pytest.mark.parametrize(("role", "jurisdiction"), CASES)
def test_no_role_reaches_another_jurisdiction_on_any_page(world, role, jurisdiction):  # noqa: F811
    user = make_user(f"u_{role}", role, [jurisdiction])
    client = logged_in(user)
    checked = 0
    for route, _p, _ns in site_routes():
        for url in fill(route, world):
            for query in QUERIES:
                response = client.get(url + query)
                assert response.status_code in (200, 302, 403, 404, 405), (url, response.status_code)
                if _must_be_404(url, world, jurisdiction):
                    assert response.status_code in (403, 404, 405), f"{role}: {url} served another's data"
                # The audit log echoes what this walk typed so far (its own searches): not a leak.
                typed = [q.removeprefix("?q=") for q in QUERIES] if route == "audit/" else [query[3:]]
                _assert_no_leak(response, f"{role}: {url}{query}", typed)
                checked += 1
    assert checked > 40


@pytest.mark.parametrize(("role", "jurisdiction"), CASES)
def test_no_role_reaches_another_jurisdiction_through_the_api(world, role, jurisdiction):  # noqa: F811
    user = make_user(f"api_{role}", role, [jurisdiction])
    _, raw = token_issue(user=user, name="walker")
    client = Client(headers={"authorization": f"Bearer {raw}"})
    for path, method in api_routes():
        if method != "get":
            continue  # writes: tests/accounts/test_device_binding.py and the write-scoping tests
        url = api_url(path, api_values(world))
        for query in (
            f"q={OTHER_ID}",
            f"q={OTHER_NAME}",
            "q=lcdy",
            f"id_number={OTHER_ID}",
            f"parent={LC_TOWN}",
            "round_code=LC-R1&open_only=false",
        ):
            response = client.get(f"{url}?{query}")
            # 403: the role may not read people at all (persons.read).
            assert response.status_code in (200, 403, 404, 422), (role, url, response.status_code)
            if "{" in path:
                assert response.status_code in (403, 404), f"{role}: {path} served another's object"
            if "/screening/tasks" in path and response.status_code == 200:
                assert response.json() == [], f"{role}: another's re-check tasks"
            assert_no_leak(response, f"{role}: {url}", typed=query.split("=", 1)[1])


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    """The API's rate limits count per user id in the cache, which outlives a test's rollback
    (and SQLite hands out the same user ids again): each walk starts with a fresh budget."""
    cache.clear()


@pytest.mark.parametrize("role", list(Role))
def test_every_role_sees_its_own_person(world, role):  # noqa: F811
    """The walker is not vacuous: the same routes do show the user's own person."""
    user = make_user(f"own_{role}", role, [JINJIANG])
    assert logged_in(user).get(f"/people/{world['own'].pk}/").status_code == 200
    # Through the API only the roles with persons.read (a harvested device token pages nothing).
    reads = actor(user).may("persons.read")
    _, raw = token_issue(user=user, name="own")
    api = Client(headers={"authorization": f"Bearer {raw}"})
    status = api.get(f"/api/v1/persons/{world['own'].pk}").status_code
    assert status == (200 if reads else 403), (role, status)


@pytest.mark.parametrize(("role", "jurisdiction"), CASES)
def test_no_role_records_a_door_visit_in_another_jurisdiction(world, role, jurisdiction):  # noqa: F811
    """The untested list's one write (入户走访): a city-wide round holds a Licheng person nobody
    sampled; no role of another county, town or community records a visit to them, through the
    page or htmx. A Licheng grid worker does (the case is not vacuous)."""
    from lianfang.screening.models import DoorVisit
    from lianfang.screening.services import round_open

    round_open(actor=None, code="CITY-V", name="全市", scope=[OTHER_COUNTY[:4]])
    person = make_person(
        id_number=rid("350502", "19790909", "771"), name="鲤城待访", community_code=LC_COMMUNITY
    )
    client = logged_in(make_user(f"v_{role}", role, [jurisdiction]))
    for headers in ({}, {"HX-Request": "true"}):
        for code in ("CITY-V", "LC-R1"):
            response = client.post(
                f"/rounds/{code}/untested/{person.pk}/visit/", {"outcome": "refused"}, headers=headers
            )
            assert response.status_code in (403, 404), (role, code, response.status_code)
            assert_no_leak(response, f"{role}: visit {code}")
            assert "鲤城待访" not in response.content.decode(), (role, code)
    assert not DoorVisit.objects.exists()
    grid = logged_in(make_user("v_grid_lc", Role.COMMUNITY_WORKER, [LC_COMMUNITY]))
    assert grid.post(f"/rounds/CITY-V/untested/{person.pk}/visit/", {"outcome": "refused"}).status_code == 302
    assert DoorVisit.objects.get().person == person
