"""The audit walker (issue 17): every page and API route that shows a person writes one audit event.

Every GET route of the site and of the API is requested with its parameters pointing at the
user's own data (a person not yet tested in a round, a person in an abnormal pool with a re-check
task). Wherever the answer shows one of these people (their name: it is never masked), exactly one
audit event of the request's user must have been written — a view, a search or an export. The walk
also asserts the routes known to show people did show them, so a broken world cannot make it pass.
"""

from __future__ import annotations

import io
import json
import re
import uuid
import zipfile

import pytest
from django.core.cache import cache
from django.test import Client

from lianfang.accounts.models import AuditEvent
from lianfang.accounts.roles import Role
from lianfang.accounts.services import token_issue
from lianfang.livelihood.views import resident_token
from lianfang.screening.models import PoolAlert, RecheckTask
from lianfang.tracing.models import Contact
from tests.accounts.test_scoping import api_routes, api_url, site_routes
from tests.conftest import JINJIANG, JJ_COMMUNITY, logged_in, make_person, make_user, rid
from tests.screening.helpers import abnormal_pool
from tests.zones.helpers import zone_with_proposal

UNTESTED_NAME, UNTESTED_ID = "审计未检", rid("350582", "19700707", "601")
POOLED_NAME, POOLED_ID = "审计混管", rid("350582", "19710707", "602")
NAMES = (UNTESTED_NAME, POOLED_NAME)
JJ_TOWN = JJ_COMMUNITY[:9]

# Routes that must show a person here (site routes as Django writes them, API paths as OpenAPI).
SHOWS_PEOPLE = {
    "people/",
    "people/<int:pk>/",
    "divisions/<str:code>/",
    "divisions/<str:code>/export.<str:fmt>",
    "rounds/<str:code>/area/<str:division_code>/",
    "rounds/<str:code>/area/<str:division_code>/untested.<str:fmt>",
    "rounds/<str:code>/pools/<str:barcode>/",
    "rounds/<str:code>/tasks/",
    "zones/<str:code>/residents/",
    "/api/v1/persons",
    "/api/v1/persons/lookup",
    "/api/v1/persons/{person_id}",
    "/api/v1/tracing/cases",
    "/api/v1/tracing/cases/{case_code}",
    "/api/v1/tracing/cases/{case_code}/contacts",
    "/api/v1/tracing/contacts/{contact_id}/plan",
    "/api/v1/custody/transfers",
    "tracing/cases/",
    "tracing/cases/<str:case_code>/",
    "tracing/cases/<str:case_code>/trace/",
    "tracing/contacts/",
    "tracing/findings/",
    "custody/transfers/",
    "custody/transfers/<int:order_pk>/",
    "custody/places/<int:place_pk>/",
    "custody/stays/",
    "custody/stays/<int:stay_pk>/",
    "companions/review/",
    "custody/monitoring/",
}
AUDITED_ACTIONS = {"view", "search", "export"}


@pytest.fixture
def world(db):
    untested = make_person(id_number=UNTESTED_ID, name=UNTESTED_NAME, phone="13800000601")
    pooled = make_person(id_number=POOLED_ID, name=POOLED_NAME, phone="13800000602")
    abnormal_pool("JJ", JJ_COMMUNITY, POOLED_ID)
    # The pooled person is also a case with the untested one as close contact, and has a
    # positive finding awaiting the CDC.
    from tests.tracing.helpers import tracing_world

    tracing_world(
        "JJ",
        JJ_COMMUNITY,
        case_id=POOLED_ID,
        case_name=POOLED_NAME,
        contact_id=UNTESTED_ID,
        contact_name=UNTESTED_NAME,
        task=RecheckTask.objects.get(),
    )
    from tests.custody.helpers import custody_world

    zone_with_proposal("JJ-Z1", JJ_COMMUNITY)
    # A Jinjiang tracer's companions run: the untested person (by phone) beside the pooled one's case.
    from tests.companions.helpers import companion_run

    run = companion_run(
        make_user("audit_runner", Role.TRACER, [JINJIANG]),
        POOLED_ID,
        {"13800000601": ("2022-03-20 08:00", "2022-03-20 08:40")},
    )
    return {
        "run": run,
        **custody_world(pooled, JJ_COMMUNITY, "JJ"),
        "untested": untested,
        "pooled": pooled,
        "alert": PoolAlert.objects.get(),
        "task": RecheckTask.objects.get(),
    }


def _fill(route: str, world) -> list[str]:
    """Concrete URLs for a site route, every parameter pointing at the user's own data."""
    values = {
        "int:pk": [str(world["untested"].pk), str(world["pooled"].pk), str(world["task"].pk)],
        "uuid:pk": [str(uuid.uuid4())],  # import jobs show no person
        "uuid:run_id": [str(world["run"].pk)],  # another user's run: 404 (and a run shows no person)
        "str:code": [JJ_COMMUNITY, JJ_TOWN, "JJ-R1", "JJ-Z1"],
        "str:division_code": [JJ_COMMUNITY, JJ_TOWN],
        "str:barcode": ["JJ-T1"],
        "str:fmt": ["csv", "xlsx"],
        "str:kind": ["persons", "samples"],
        "str:case_code": ["JJ-C1"],
        "int:order_pk": [str(world["order"].pk)],
        "int:place_pk": [str(world["place"].pk)],
        "int:stay_pk": [str(world["stay"].pk), str(world["discharged"].pk)],
        "str:token": [resident_token(JJ_COMMUNITY)],
        "str:day": ["2022-03-25"],  # a briefing's window (command)
    }
    urls = ["/" + route]
    for param in re.findall(r"<([^>]+)>", route):
        options = values.get(param)
        assert options, f"no test value for route parameter <{param}> in {route}: add one here"
        urls = [u.replace(f"<{param}>", v) for u in urls for v in options]
    return urls


def _text(response) -> str:
    body = b"".join(response.streaming_content) if response.streaming else response.content
    if body[:2] == b"PK":  # an XLSX: its strings live in the zipped XML
        with zipfile.ZipFile(io.BytesIO(body)) as z:
            return "".join(z.read(n).decode("utf-8", "replace") for n in z.namelist() if n.endswith(".xml"))
    if response.get("Content-Type", "").startswith("application/json"):
        return json.dumps(json.loads(body), ensure_ascii=False)  # names, not \u escapes
    return body.decode("utf-8", errors="replace")


def _audited(request, user, label: str) -> bool:
    """Make the request; True if its answer showed a person, after checking its audit events."""
    last = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    response = request()
    text = _text(response) if response.status_code == 200 else ""
    shows = any(name in text for name in NAMES)
    events = list(AuditEvent.objects.filter(id__gt=last))
    if shows:
        assert len(events) == 1, f"{label} showed a person and wrote {len(events)} audit events"
        event = events[0]
        assert event.user_id == user.pk and event.action in AUDITED_ACTIONS, (label, event)
    return shows


ROLES = [Role.COMMAND_OFFICE, Role.TRACER]  # one masked, one unmasked


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    """The API's rate limits count per user id in the cache, which outlives a test's rollback."""
    cache.clear()


@pytest.mark.parametrize("role", ROLES)
def test_every_page_that_shows_a_person_is_audited_once(world, role):
    user = make_user(f"audit_{role}", role, [JINJIANG])
    client = logged_in(user)
    shown = set()
    for route, _p, _ns in site_routes():
        if route in ("audit/", "login/", "logout/", "lang/"):
            continue
        for url in _fill(route, world):
            for query in ("", f"?q={UNTESTED_NAME}", f"?q={POOLED_ID}", "?q=sjwj"):
                for headers in ({}, {"HX-Request": "true"}):
                    label = f"{role} GET {url}{query} {headers}"
                    if _audited(lambda u=url + query, h=headers: client.get(u, headers=h), user, label):
                        shown.add(route)
    missing = {r for r in SHOWS_PEOPLE if not r.startswith("/api/")} - shown
    assert not missing, f"these pages should have shown a person: {sorted(missing)}"


@pytest.mark.parametrize("role", ROLES)
def test_every_api_route_that_shows_a_person_is_audited_once(world, role):
    user = make_user(f"api_audit_{role}", role, [JINJIANG])
    _, raw = token_issue(user=user, name="audit walker")
    client = Client(headers={"authorization": f"Bearer {raw}"})
    shown = set()
    for path, method in api_routes():
        if method != "get":
            continue
        url = api_url(
            path,
            {
                "person_id": world["pooled"].pk,
                "code": JJ_COMMUNITY,
                "task_id": world["task"].pk,
                "case_code": "JJ-C1",
                "contact_id": Contact.objects.get(id_number=UNTESTED_ID).pk,
                "order_id": world["order"].pk,
                "place_id": world["place"].pk,
            },
        )
        for query in (
            "",
            f"q={UNTESTED_NAME}",
            f"q={POOLED_ID}",
            f"id_number={POOLED_ID}",
            f"parent={JJ_TOWN}",
            "round_code=JJ-R1&open_only=false",
        ):
            label = f"{role} GET {url}?{query}"
            if _audited(lambda u=f"{url}?{query}": client.get(u), user, label):
                shown.add(path)
    missing = {r for r in SHOWS_PEOPLE if r.startswith("/api/")} - shown
    assert not missing, f"these API routes should have shown a person: {sorted(missing)}"


@pytest.mark.parametrize("role", [Role.COMMUNITY_WORKER, Role.COMMAND_OFFICE])
def test_a_door_visit_writes_one_audit_event(world, role):
    """The untested list's write (入户走访) is a personal-data write: one ``create`` event of the
    user naming the person, whether it came from the page or from htmx; a refused one writes none."""
    user = make_user(f"visit_{role}", role, [JINJIANG])
    client = logged_in(user)
    url = f"/rounds/JJ-R1/untested/{world['untested'].pk}/visit/"
    for headers in ({}, {"HX-Request": "true"}):
        last = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
        assert client.post(url, {"outcome": "not_at_home"}, headers=headers).status_code in (200, 302)
        (event,) = AuditEvent.objects.filter(id__gt=last)
        assert (event.user_id, event.action, event.object_type) == (user.pk, "create", "door_visit")
        assert event.detail["person"] == world["untested"].pk and event.detail["round"] == "JJ-R1"
    last = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first()
    client.post(url, {"outcome": "no-such-outcome"})
    assert not AuditEvent.objects.filter(id__gt=last, action="create").exists()
