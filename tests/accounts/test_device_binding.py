"""The device-binding walker (issue 17): every device write, tried by a device bound elsewhere.

A token issued for a sampling site may only write for that site, a lab's token only for that lab
(a device is bound once, when its token is issued). Each write route of the device API is tried
twice by a device of the same user, role and jurisdiction: naming its own site or lab (stored) and
naming another site or lab that exists and lies in the same jurisdiction (refused, nothing
stored). A new write route of the API fails :func:`test_every_write_route_is_walked` until it is
added here or declared not device-bound.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pyarrow as pa
import pytest
from django.test import Client
from django.utils import timezone

from lianfang.accounts.roles import Role
from lianfang.api.api import api
from lianfang.screening import services
from lianfang.screening.models import Box, Lab, Result, Sample, Site, Tube
from tests.conftest import JINJIANG, JJ_COMMUNITY, make_person, make_user, rid


# Devices send what they take as they take it: now (a live record may not predate its round).
def _now() -> str:
    return timezone.localtime().strftime("%Y-%m-%d %H:%M")


ID = rid("350582", "19800101", "401")
SCREENING = "/api/v1/screening"


@dataclass(frozen=True)
class Write:
    """A device write: its body naming ``place`` (a site or lab code) and what it stores there."""

    bound_to: str  # "site" or "lab"
    body: Callable[[str, str], dict]  # (place code, a fresh key) → the request body
    stored: Callable[[str, str], bool]  # (place code, the key) → did the write land there?


def _scan(site: str, key: str) -> dict:
    return {
        "round_code": "R1",
        "tube_barcode": f"T-{key}",
        "pool_size": 10,
        "site_code": site,
        "id_number": ID,
        "collected_at": _now(),
    }


def _tube_stored(site: str, key: str) -> bool:
    return Sample.objects.filter(tube__barcode=f"T-{key}", tube__site__code=site).exists()


WRITES: dict[str, Write] = {
    f"{SCREENING}/tubes": Write(
        "site",
        lambda site, key: {
            "round_code": "R1",
            "tube_barcode": f"T-{key}",
            "pool_size": 10,
            "site_code": site,
            "members": [{"id_number": ID, "collected_at": _now()}],
        },
        _tube_stored,
    ),
    f"{SCREENING}/scans": Write("site", _scan, _tube_stored),
    f"{SCREENING}/samples": Write("site", lambda site, key: {"rows": [_scan(site, key)]}, _tube_stored),
    # The box of another site's tube (made in the fixture, one per site: TB-<site>).
    f"{SCREENING}/boxes": Write(
        "site",
        lambda site, key: {
            "box_code": f"B-{key}",
            "round_code": "R1",
            "site_code": site,
            "tubes": [f"TB-{site}"],
        },
        lambda site, key: (
            Tube.objects.filter(barcode=f"TB-{site}", box_code=f"B-{key}").exists()
            or Box.objects.filter(code=f"B-{key}", site__code=site).exists()
        ),
    ),
    f"{SCREENING}/results": Write(
        "lab",
        lambda lab, key: {
            "rows": [
                {"tube_barcode": f"TR-{key}", "lab_code": lab, "result": "negative", "reported_at": _now()}
            ]
        },
        lambda lab, key: Result.objects.filter(tube_barcode=f"TR-{key}", lab__code=lab).exists(),
    ),
}

# Writes that are not a site's or a lab's: opening a round (the command), registering a re-check
# tube against a task (the emergency team, scoped by the task's jurisdiction).
NOT_DEVICE_BOUND = {
    f"{SCREENING}/rounds",
    f"{SCREENING}/tasks/{{task_id}}/sample",
    # Tracing and custody writes bind to no site or lab (no sampling or lab role has their verbs);
    # their scoping: tests/accounts/test_write_scoping.py.
    "/api/v1/tracing/cases/{case_code}/contacts",
    "/api/v1/tracing/cases/{case_code}/trace",
    "/api/v1/custody/transfers/{order_id}/transition",
    "/api/v1/custody/places/{place_id}/check-in",
}

ROLE_OF = {"site": Role.SAMPLER, "lab": Role.LAB}


def test_every_write_route_is_walked():
    schema = api.get_openapi_schema()
    writes = {path for path, ops in schema["paths"].items() for method in ops if method != "get"}
    unwalked = writes - set(WRITES) - NOT_DEVICE_BOUND
    assert not unwalked, f"device write routes without a binding test here: {sorted(unwalked)}"


@pytest.fixture
def places(db):
    """Two sites and two labs, all in the device user's jurisdiction; a tube at each site."""
    services.round_open(actor=None, code="R1", name="第一轮", scope=[JINJIANG])
    for code in ("S1", "S2"):
        Site.objects.create(
            code=code, name=code, community_id=JJ_COMMUNITY, town_code=JJ_COMMUNITY[:9], county_code=JINJIANG
        )
    for code in ("L1", "L2"):
        Lab.objects.create(code=code, name=code)
    make_person(id_number=ID)
    for site in ("S1", "S2"):
        services.samples_import(
            table=pa.table(
                {
                    "round_code": ["R1"],
                    "tube_barcode": [f"TB-{site}"],
                    "pool_size": ["10"],
                    "id_number": [ID],
                    "site_code": [site],
                    "collected_at": [_now()],
                }
            ),
            actor=None,
        )
    return {"site": ("S1", "S2"), "lab": ("L1", "L2")}


def _device(kind: str, code: str) -> Client:
    user = make_user(f"{kind}-{code}", ROLE_OF[kind], [JINJIANG])
    bound = {"site": Site.objects.get(code=code)} if kind == "site" else {"lab": Lab.objects.get(code=code)}
    _, raw = services.device_token_issue(user=user, name=f"device {code}", **bound)
    return Client(headers={"authorization": f"Bearer {raw}"})


def _refused(response) -> bool:
    """Refused like an unknown place: a 404, or every row rejected as unknown_site/unknown_lab."""
    if response.status_code == 404:
        return True
    if response.status_code != 200 or "rows" not in response.json():
        return False
    return all(r["outcome"] in ("unknown_site", "unknown_lab") for r in response.json()["rows"])


@pytest.mark.parametrize("path", sorted(WRITES))
def test_a_device_writes_only_for_its_own_site_or_lab(places, path):
    write = WRITES[path]
    own, other = places[write.bound_to]
    device = _device(write.bound_to, own)
    # Naming the place it is bound to: stored (the walk is not vacuous).
    ok = device.post(path, write.body(own, "own"), content_type="application/json")
    assert ok.status_code == 200, ok.content
    assert write.stored(own, "own"), f"{path}: the device's write for its own {write.bound_to} was not stored"
    # Naming another place of the same jurisdiction: refused, nothing stored there.
    response = device.post(path, write.body(other, "other"), content_type="application/json")
    assert _refused(response), f"{path}: a device bound to {own} wrote for {other}: {response.content!r}"
    assert not write.stored(other, "other"), f"{path}: a device bound to {own} wrote for {other}"
    # The same write by a device bound to the other place is taken (the refusal was the binding).
    taken = _device(write.bound_to, other).post(
        path, write.body(other, "other"), content_type="application/json"
    )
    assert taken.status_code == 200 and write.stored(other, "other"), taken.content


def test_a_site_device_boxes_only_its_own_sites_tubes(places):
    """A box of the device's own site that lists another site's tube leaves that tube alone."""
    device = _device("site", "S1")
    body = {"box_code": "B-mixed", "round_code": "R1", "tubes": ["TB-S1", "TB-S2"]}
    out = device.post(f"{SCREENING}/boxes", body, content_type="application/json").json()
    assert out == {"box_code": "B-mixed", "tubes": 1, "unknown_tubes": ["TB-S2"]}
    assert Tube.objects.get(barcode="TB-S2").box_code == ""


@pytest.mark.parametrize("path", [f"{SCREENING}/tubes", f"{SCREENING}/scans", f"{SCREENING}/samples"])
def test_a_site_device_adds_no_one_to_another_sites_tube(places, path):
    """The tube TB-S2 was registered at S2: a device of S1 scanning someone into it (its own site
    defaulted) would write for S2 — its pool, its alert and re-check tasks."""
    newcomer = rid("350582", "19800101", "402")
    make_person(id_number=newcomer)
    body = WRITES[path].body("", "x")
    for row in body["rows"] if "rows" in body else [body]:
        row["tube_barcode"] = "TB-S2"
        if "id_number" in row:
            row["id_number"] = newcomer
    if "members" in body:
        body["members"][0]["id_number"] = newcomer
    out = _device("site", "S1").post(path, body, content_type="application/json").json()
    assert [r["outcome"] for r in out["rows"]] == ["tube_taken"]
    assert not Sample.objects.filter(tube__barcode="TB-S2", person__id_number=newcomer).exists()
    # The tube's own site's device adds them.
    out = _device("site", "S2").post(path, body, content_type="application/json").json()
    assert [r["outcome"] for r in out["rows"]] == ["accepted"]
