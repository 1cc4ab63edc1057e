"""Writes are scoped: a user of another jurisdiction changes nothing, through any write there is.

The walker enumerates every write the platform offers — each URL pattern that accepts a POST,
each API route with another method than GET, each import kind an app declares and each CLI
subcommand — and runs, for each, the writes a Jinjiang user could aim at Licheng's objects or at
the city's (a city-wide round, the labs). The attacker is a Jinjiang *administrator*, whose role
has every verb: whatever refuses them is the jurisdiction rule, not the role. A snapshot of every
table of the project's apps before and after must be identical. Each case also has a control: the
same write by a city-wide administrator does change the database, so a payload that misses its
target (and would pass for the wrong reason) fails the test.

A write that appears without a case here fails the walker: add its case (attack and control).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import pyarrow as pa
import pytest
from django.apps import apps
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client
from django.urls import get_resolver
from django.utils import timezone

from lianfang.accounts.roles import Role
from lianfang.accounts.scoping import ACCESS_ATTR, PUBLIC, SELF_GUARDED_NAMESPACES, Actor
from lianfang.accounts.services import token_issue
from lianfang.api.api import api
from lianfang.command.services.consultations import consultation_open
from lianfang.command.services.posts import directive_send, post_create
from lianfang.command.services.problems import problem_file
from lianfang.core import plugins
from lianfang.core.errors import Refused
from lianfang.imports.models import ImportJob
from lianfang.imports.services import import_file
from lianfang.livelihood.views import resident_token
from lianfang.screening import services
from lianfang.screening.models import PoolAlert, RecheckTask, Site
from tests.accounts.test_scoping import walk
from tests.conftest import (
    JINJIANG,
    JJ_COMMUNITY,
    LC_COMMUNITY,
    LICHENG,
    logged_in,
    make_person,
    make_user,
    rid,
)
from tests.livelihood.helpers import requests_in
from tests.zones.helpers import zone_with_proposal

OTHER_ID = rid(LICHENG, "19750505", "555")
OWN_ID = rid(JINJIANG, "19800808", "888")
OWN2_ID = rid(JINJIANG, "19810909", "999")
LC_UNTESTED_ID = rid(LICHENG, "19780808", "559")  # on the city round's untested list (door visits)
CITY = JINJIANG[:4]

# --- the snapshot ------------------------------------------------------------------------------

# Bookkeeping a refused write may leave, by design: the audit trail of the attempt, the record of
# an upload (its job, which says it failed or what it rejected), login throttling, when a token
# was last used, and when the registry's counts were recomputed (their values are compared).
# Anything else that changes is a write that got through.
BOOKKEEPING_TABLES = {"accounts.auditevent", "imports.importjob", "accounts.loginfailure"}
BOOKKEEPING_COLUMNS = {"accounts.apitoken": {"last_used_at"}, "people.communitystats": {"refreshed_at"}}


def project_models():
    return [
        m
        for m in apps.get_models()
        if m.__module__.startswith("lianfang.") and m._meta.label_lower not in BOOKKEEPING_TABLES
    ]


def snapshot() -> dict[str, list[tuple]]:
    """Every row of every table of the project's apps (bookkeeping aside), in key order."""
    out = {}
    for model in project_models():
        skip = BOOKKEEPING_COLUMNS.get(model._meta.label_lower, set())
        columns = [f.attname for f in model._meta.concrete_fields if f.attname not in skip]
        out[model._meta.label_lower] = list(model._base_manager.order_by("pk").values_list(*columns))
    return out


def diff(before: dict, after: dict) -> list[str]:
    return [label for label in before if before[label] != after[label]]


# --- the world: Licheng's objects, the city's, and the two users -------------------------------


@dataclass
class World:
    attacker: object
    owner: object
    attacker_client: Client
    owner_client: Client
    attacker_token: str
    attacker_device: str
    owner_token: str
    objects: dict = field(default_factory=dict)
    tmp_path: object = None

    def actor(self, who: str) -> Actor:
        return Actor.for_user(self.attacker if who == "attacker" else self.owner, ip="127.0.0.1")

    def client(self, who: str) -> Client:
        return self.attacker_client if who == "attacker" else self.owner_client

    def api(self, who: str, path: str, body: dict, *, device: bool = False):
        token = (
            self.attacker_device if device else self.attacker_token if who == "attacker" else self.owner_token
        )
        return Client().post(
            "/api/v1" + path,
            json.dumps(body),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {token}",
        )

    def file(self, name: str, rows: list[dict]) -> str:
        path = self.tmp_path / name
        header = list(rows[0])
        lines = [",".join(header)] + [",".join(str(r[c]) for c in header) for r in rows]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return str(path)


def _local(value: dt.datetime) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")


@pytest.fixture
def world(db, tmp_path, city_user):
    now = timezone.now()
    attacker = make_user("jj_admin", Role.ADMIN, [JINJIANG])
    owner = make_user("city_admin", Role.ADMIN, [CITY])
    other = make_person(id_number=OTHER_ID, name="鲤城居民", community_code=LC_COMMUNITY)
    make_person(id_number=OWN_ID, name="晋江居民", community_code=JJ_COMMUNITY)
    make_person(id_number=OWN2_ID, name="晋江居民二", community_code=JJ_COMMUNITY)
    lc_untested = make_person(id_number=LC_UNTESTED_ID, name="鲤城未检", community_code=LC_COMMUNITY)
    services.sites_import(
        table=pa.Table.from_pylist(
            [
                {"site_code": "LC-S1", "name": "鲤城点", "community_code": LC_COMMUNITY},
                {"site_code": "JJ-S1", "name": "晋江点", "community_code": JJ_COMMUNITY},
            ]
        ),
        actor=None,
    )
    services.labs_import(table=pa.table({"lab_code": ["LC-L"], "name": ["市实验室"]}), actor=None)
    start = now - dt.timedelta(hours=6)
    services.round_open(actor=None, code="CITY-R", name="全市轮次", scope=[CITY], starts_at=start)
    services.round_open(actor=None, code="LC-R1", name="鲤城轮次", scope=[LICHENG], starts_at=start)
    at = _local(now - dt.timedelta(hours=1))
    services.samples_import(
        table=pa.Table.from_pylist(
            [
                {"round_code": "CITY-R", "tube_barcode": "LC-T1", "pool_size": "10", "id_number": OTHER_ID},
                {"round_code": "LC-R1", "tube_barcode": "LC-T2", "pool_size": "10", "id_number": OTHER_ID},
            ]
        )
        .append_column("site_code", pa.array(["LC-S1"] * 2))
        .append_column("collected_at", pa.array([at] * 2)),
        actor=None,
    )
    services.results_import(
        table=pa.table(
            {
                "tube_barcode": ["LC-T1"],
                "lab_code": ["LC-L"],
                "result": ["positive"],
                "reported_at": [_local(now - dt.timedelta(minutes=30))],
            }
        ),
        actor=None,
    )
    services.box_handover(actor=None, box_code="LC-B1", round_code="CITY-R", tubes=[], site_code="LC-S1")
    job = ImportJob.objects.create(user=city_user, file_path="/nonexistent.csv", original_name="x.csv")
    _, attacker_token = token_issue(user=attacker, name="jj script")
    _, owner_token = token_issue(user=owner, name="city script")
    _, attacker_device = services.device_token_issue(
        user=attacker, name="jj desk", site=Site.objects.get(code="JJ-S1")
    )
    w = World(
        attacker=attacker,
        owner=owner,
        attacker_client=logged_in(attacker),
        owner_client=logged_in(owner),
        attacker_token=attacker_token,
        attacker_device=attacker_device,
        owner_token=owner_token,
        tmp_path=tmp_path,
    )
    from tests.tracing.helpers import tracing_world

    traced = tracing_world(
        "LC",
        LC_COMMUNITY,
        case_id=OTHER_ID,
        case_name="鲤城病例",
        contact_id=rid(LICHENG, "19760606", "556"),
        contact_name="鲤城密接",
        task=RecheckTask.objects.get(),
    )
    _, proposal = zone_with_proposal("LC-Z1", LC_COMMUNITY)
    lv = requests_in(LC_COMMUNITY, "lc")
    from tests.companions.helpers import companion_run

    run = companion_run(owner, OTHER_ID, {OWN_ID: ("2022-03-20 08:10", "2022-03-20 08:50")}, ["LC-C1"])
    w.objects = {
        "run": run,
        "companion": run.rows.get(),
        "finding": traced["finding"],
        **_custody_world(other),
        "lv": lv,
        "proposal": proposal,
        "other": other,
        "lc_untested": lc_untested,
        "alert": PoolAlert.objects.get(),
        "task": RecheckTask.objects.get(),
        "job": job,
        "at": at,
        "now": now,
        # The city's problem (command): a county holder may neither move it nor add to it.
        "problem": problem_file(actor=None, title="全市问题", division_code=CITY),
        "city_post": post_create(actor=None, name="市指挥部", division_code=CITY),
        "lc_post": post_create(actor=None, name="鲤城指挥部", division_code=LICHENG),
    }
    w.objects["consultation"] = consultation_open(actor=None, post_id=w.objects["city_post"].pk, title="会商")
    w.objects["directive"] = directive_send(
        actor=None, from_post_id=w.objects["city_post"].pk, to_post_id=w.objects["lc_post"].pk, title="指令"
    )
    return w


def test_the_attacker_has_every_write_verb(world):
    """Whatever refuses the attacker below is their jurisdiction, not their role."""
    # Read verbs (``audit.read``, ``persons.read`` …) are not writes.
    verbs = {v for p in plugins.discover() for v in p.verbs if not v.endswith(".read")}
    assert verbs and all(world.actor("attacker").may(v) for v in verbs), verbs


# --- the cases -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """Writes of the attacker aimed at what is not theirs (each must change nothing), and the
    owner's control (which must change something: the target is real)."""

    attacks: tuple[Callable[[World], object], ...]
    control: Callable[[World], object]


def _samples_rows(w: World, *, site: str = "JJ-S1", member: str = OWN_ID) -> list[dict]:
    # Another county's tube (in the city-wide round the attacker does see), named from their own site.
    return [
        {
            "round_code": "CITY-R",
            "tube_barcode": "LC-T1",
            "pool_size": "10",
            "id_number": member,
            "site_code": site,
            "collected_at": w.objects["at"],
        }
    ]


def _held_rows(w: World) -> list[dict]:
    return [{**_result_rows(w)[0], "tube_barcode": "NOT-YET-1", "result": "positive"}]


def _result_rows(w: World) -> list[dict]:
    return [
        {"tube_barcode": "LC-T2", "lab_code": "LC-L", "result": "negative", "reported_at": w.objects["at"]}
    ]


def _upload(w: World, who: str, url: str, name: str, rows: list[dict], **data):
    content = open(w.file(name, rows), "rb").read()
    return w.client(who).post(url, {"file": SimpleUploadedFile(name, content), **data})


def _persons_rows() -> list[dict]:
    # Licheng's resident, moved into Jinjiang and renamed.
    return [{"id_type": "resident_id", "id_number": OTHER_ID, "name": "改名", "community_code": JJ_COMMUNITY}]


def _sites_rows() -> list[dict]:
    # Licheng's site, moved into Jinjiang and renamed.
    return [{"site_code": "LC-S1", "name": "改名点", "community_code": JJ_COMMUNITY, "desks": "9"}]


def _labs_rows() -> list[dict]:
    return [{"lab_code": "LC-L", "name": "改名实验室", "daily_capacity": "1"}]


def _cases_rows() -> list[dict]:
    # A new case in Licheng, and Licheng's case moved into Jinjiang.
    from tests.tracing.helpers import case

    return [
        case("LC-C2", id_number=rid(LICHENG, "19770707", "557"), community_code=LC_COMMUNITY),
        case("LC-C1", id_number=OTHER_ID, community_code=JJ_COMMUNITY, severity="severe"),
    ]


def _contacts_rows() -> list[dict]:
    from tests.tracing.helpers import contact

    return [contact(OWN2_ID, case_code="LC-C1", community_code=JJ_COMMUNITY)]


def _case_form(case_code: str = "LC-C9") -> dict:
    return {
        "case_code": case_code,
        "id_number": rid(LICHENG, "19770707", "557"),
        "name": "新病例",
        "classification": "confirmed",
        "found_in": "clinic",
        "first_positive_sampled_at": "2022-03-28T08:00",
        "reported_at": "2022-03-28T10:00",
        "community_code": LC_COMMUNITY,
    }


def _contact_form() -> dict:
    return {
        "category": "close",
        "id_number": OWN2_ID,
        "name": "晋江居民二",
        "last_exposure_at": "2022-03-27T08:00",
    }


def _finding_form(w: World) -> dict:
    return {"finding": w.objects["finding"].pk, "case_code": "LC-F1", "classification": "asymptomatic"}


def _pings() -> bytes:
    from tests.companions.helpers import pings_csv

    return pings_csv(OTHER_ID, {OWN_ID: ("2022-03-20 08:10", "2022-03-20 08:50")})


def _expect(response, *statuses):
    assert response.status_code in statuses, (response.status_code, response.content[:300])
    return response


# URL patterns accepting POST, by route.
def _lv_form(community: str) -> dict:
    return {"community_code": community, "name": "某某", "phone": "13700001234", "address": "1号楼",
            "kind": "medicine", "detail": "药"}  # fmt: skip


def _lv_post(w: World, who: str, step: str, which: str, data: dict | None = None):
    return w.client(who).post(f"/livelihood/{w.objects['lv'][which].pk}/{step}/", data or {})


def _zone_form(code: str, area: str) -> dict:
    return {"code": code, "name": "新区域", "type": "sealed", "area": area, "designated_at": ""}


PAGE_CASES: dict[str, Case] = {
    "consultations/": Case(
        attacks=(
            lambda w: _expect(
                w.client("attacker").post(
                    "/consultations/", {"post": w.objects["city_post"].pk, "title": "x"}
                ),
                400,
            ),
        ),
        control=lambda w: _expect(
            w.client("owner").post("/consultations/", {"post": w.objects["city_post"].pk, "title": "x"}), 302
        ),
    ),
    "consultations/<int:pk>/": Case(
        attacks=(
            lambda w: _expect(
                w.client("attacker").post(
                    f"/consultations/{w.objects['consultation'].pk}/",
                    {"op": "problem", "title": "x", "division_code": JINJIANG},
                ),
                404,
            ),
        ),
        control=lambda w: _expect(
            w.client("owner").post(
                f"/consultations/{w.objects['consultation'].pk}/",
                {"op": "problem", "title": "x", "division_code": LICHENG},
            ),
            302,
        ),
    ),
    "posts/": Case(
        attacks=(
            lambda w: _expect(
                w.client("attacker").post(
                    "/posts/", {"op": "group", "post": w.objects["city_post"].pk, "kind": "tracing"}
                ),
                400,
                404,
            ),
            lambda w: _expect(
                w.client("attacker").post("/posts/", {"op": "post", "name": "x", "division_code": LICHENG}),
                400,
            ),
        ),
        control=lambda w: _expect(
            w.client("owner").post(
                "/posts/", {"op": "group", "post": w.objects["city_post"].pk, "kind": "tracing"}
            ),
            302,
        ),
    ),
    "directives/": Case(
        attacks=(
            lambda w: _expect(
                w.client("attacker").post(
                    "/directives/",
                    {
                        "from_post": w.objects["city_post"].pk,
                        "to_post": w.objects["lc_post"].pk,
                        "title": "x",
                    },
                ),
                400,
                404,
            ),
        ),
        control=lambda w: _expect(
            w.client("owner").post(
                "/directives/",
                {"from_post": w.objects["city_post"].pk, "to_post": w.objects["lc_post"].pk, "title": "x"},
            ),
            302,
        ),
    ),
    "directives/<int:pk>/act/": Case(
        attacks=(
            lambda w: _expect(
                w.client("attacker").post(
                    f"/directives/{w.objects['directive'].pk}/act/", {"step": "acknowledge"}
                ),
                404,
            ),
        ),
        control=lambda w: _expect(
            w.client("owner").post(f"/directives/{w.objects['directive'].pk}/act/", {"step": "acknowledge"}),
            302,
        ),
    ),
    "problems/": Case(
        attacks=(
            lambda w: _expect(
                w.client("attacker").post("/problems/", {"title": "x", "division_code": LICHENG}), 400
            ),
            lambda w: _expect(
                w.client("attacker").post("/problems/", {"title": "x", "division_code": CITY}), 400
            ),
        ),
        control=lambda w: _expect(
            w.client("owner").post("/problems/", {"title": "x", "division_code": LICHENG}), 302
        ),
    ),
    "problems/<int:pk>/act/": Case(
        attacks=(
            lambda w: _expect(
                w.client("attacker").post(f"/problems/{w.objects['problem'].pk}/act/", {"action": "report"}),
                404,
            ),
        ),
        control=lambda w: _expect(
            w.client("owner").post(f"/problems/{w.objects['problem'].pk}/act/", {"action": "report"}), 302
        ),
    ),
    "problems/<int:pk>/evidence/": Case(
        attacks=(
            lambda w: _expect(
                w.client("attacker").post(
                    f"/problems/{w.objects['problem'].pk}/evidence/",
                    {"file": SimpleUploadedFile("a.jpg", b"\xff\xd8\xff\xe0" + bytes(32))},
                ),
                404,
            ),
        ),
        control=lambda w: _expect(
            w.client("owner").post(
                f"/problems/{w.objects['problem'].pk}/evidence/",
                {"file": SimpleUploadedFile("a.jpg", b"\xff\xd8\xff\xe0" + bytes(32))},
            ),
            302,
        ),
    ),
    # Publishing a briefing freezes the whole city's figures: a county holder may not (command).
    "briefing/": Case(
        attacks=(lambda w: _expect(w.client("attacker").post("/briefing/", {"cutoff": "2022-03-26"}), 404),),
        control=lambda w: _expect(w.client("owner").post("/briefing/", {"cutoff": "2022-03-26"}), 302),
    ),
    # Livelihood: filing for another county's community is refused; its requests are not there.
    "livelihood/new/": Case(
        attacks=(
            lambda w: _expect(w.client("attacker").post("/livelihood/new/", _lv_form(LC_COMMUNITY)), 400),
        ),
        control=lambda w: _expect(w.client("owner").post("/livelihood/new/", _lv_form(LC_COMMUNITY)), 302),
    ),
    "livelihood/hotline/": Case(
        attacks=(
            lambda w: _expect(w.client("attacker").post("/livelihood/hotline/", _lv_form(LC_COMMUNITY)), 400),
        ),
        control=lambda w: _expect(
            w.client("owner").post("/livelihood/hotline/", _lv_form(LC_COMMUNITY)), 302
        ),
    ),
    # The catalogue is the city's: a county may not change it.
    "livelihood/packages/": Case(
        attacks=(
            lambda w: _expect(
                w.client("attacker").post("/livelihood/packages/", {"code": "P1", "name": "x"}), 403
            ),
        ),
        control=lambda w: _expect(
            w.client("owner").post("/livelihood/packages/", {"code": "P1", "name": "x"}), 302
        ),
    ),
    "livelihood/<int:pk>/accept/": Case(
        attacks=(lambda w: _expect(_lv_post(w, "attacker", "accept", "new"), 404),),
        control=lambda w: _expect(_lv_post(w, "owner", "accept", "new"), 302),
    ),
    "livelihood/<int:pk>/assign/": Case(
        attacks=(lambda w: _expect(_lv_post(w, "attacker", "assign", "new", {"username": "lc_vol"}), 404),),
        control=lambda w: _expect(_lv_post(w, "owner", "assign", "new", {"username": "lc_vol"}), 302),
    ),
    "livelihood/<int:pk>/deliver/": Case(
        attacks=(
            lambda w: _expect(
                _lv_post(w, "attacker", "deliver", "assigned", {"code": w.objects["lv"]["code"]}), 404
            ),
        ),
        control=lambda w: _expect(
            _lv_post(w, "owner", "deliver", "assigned", {"code": w.objects["lv"]["code"]}), 302
        ),
    ),
    "livelihood/<int:pk>/close/": Case(
        attacks=(lambda w: _expect(_lv_post(w, "attacker", "close", "delivered"), 404),),
        control=lambda w: _expect(_lv_post(w, "owner", "close", "delivered"), 302),
    ),
    # Designating over another county's community is refused; the owner's is accepted.
    "zones/": Case(
        attacks=(
            lambda w: _expect(w.client("attacker").post("/zones/", _zone_form("NEW-Z", LC_COMMUNITY)), 400),
        ),
        control=lambda w: _expect(w.client("owner").post("/zones/", _zone_form("NEW-Z", LC_COMMUNITY)), 302),
    ),
    # Signing or rejecting another county's proposal: not there (404) for the attacker.
    "zones/<str:code>/proposals/<int:pk>/sign/": Case(
        attacks=(
            lambda w: _expect(
                w.client("attacker").post(f"/zones/LC-Z1/proposals/{w.objects['proposal'].pk}/sign/"), 404
            ),
        ),
        control=lambda w: _expect(
            w.client("owner").post(f"/zones/LC-Z1/proposals/{w.objects['proposal'].pk}/sign/"), 302
        ),
    ),
    "zones/<str:code>/proposals/<int:pk>/reject/": Case(
        attacks=(
            lambda w: _expect(
                w.client("attacker").post(
                    f"/zones/LC-Z1/proposals/{w.objects['proposal'].pk}/reject/", {"reason": "不同意"}
                ),
                404,
            ),
        ),
        control=lambda w: _expect(
            w.client("owner").post(
                f"/zones/LC-Z1/proposals/{w.objects['proposal'].pk}/reject/", {"reason": "不同意"}
            ),
            302,
        ),
    ),
    "rounds/": Case(
        attacks=(
            lambda w: _expect(
                w.client("attacker").post("/rounds/", {"code": "NEW-R", "name": "x", "scope": [LICHENG]}), 400
            ),
            lambda w: _expect(
                w.client("attacker").post("/rounds/", {"code": "LC-R1", "name": "x", "scope": [JINJIANG]}),
                400,
            ),
        ),
        control=lambda w: _expect(
            w.client("owner").post("/rounds/", {"code": "NEW-R", "name": "x", "scope": [LICHENG]}), 302
        ),
    ),
    "rounds/<str:code>/close/": Case(
        attacks=(
            lambda w: _expect(w.client("attacker").post("/rounds/CITY-R/close/"), 403),
            lambda w: _expect(w.client("attacker").post("/rounds/LC-R1/close/"), 404),
        ),
        control=lambda w: _expect(w.client("owner").post("/rounds/CITY-R/close/"), 302),
    ),
    "rounds/<str:code>/alerts/<int:pk>/ack/": Case(
        attacks=(
            lambda w: _expect(
                w.client("attacker").post(f"/rounds/CITY-R/alerts/{w.objects['alert'].pk}/ack/"), 403, 404
            ),
        ),
        control=lambda w: _expect(
            w.client("owner").post(f"/rounds/CITY-R/alerts/{w.objects['alert'].pk}/ack/"), 302
        ),
    ),
    "rounds/<str:code>/upload/": Case(
        attacks=(
            lambda w: _upload(
                w, "attacker", "/rounds/CITY-R/upload/", "s.csv", _samples_rows(w), kind="samples"
            ),
            lambda w: _upload(
                w, "attacker", "/rounds/CITY-R/upload/", "r.csv", _result_rows(w), kind="results"
            ),
            lambda w: _upload(
                w, "attacker", "/rounds/LC-R1/upload/", "r.csv", _result_rows(w), kind="results"
            ),
        ),
        control=lambda w: _upload(
            w, "owner", "/rounds/CITY-R/upload/", "r.csv", _result_rows(w), kind="results"
        ),
    ),
    "rounds/<str:code>/tasks/<int:pk>/sample/": Case(
        attacks=(
            lambda w: _expect(
                w.client("attacker").post(
                    f"/rounds/CITY-R/tasks/{w.objects['task'].pk}/sample/", {"barcode": "C-1"}
                ),
                403,
                404,
            ),
        ),
        control=lambda w: w.client("owner").post(
            f"/rounds/CITY-R/tasks/{w.objects['task'].pk}/sample/", {"barcode": "C-1"}
        ),
    ),
    # A door visit (入户走访) to Licheng's untested person, in the city round and in Licheng's own.
    "rounds/<str:code>/untested/<int:pk>/visit/": Case(
        attacks=(
            lambda w: _expect(
                w.client("attacker").post(
                    f"/rounds/CITY-R/untested/{w.objects['lc_untested'].pk}/visit/", {"outcome": "refused"}
                ),
                404,
            ),
            lambda w: _expect(
                w.client("attacker").post(
                    f"/rounds/LC-R1/untested/{w.objects['lc_untested'].pk}/visit/",
                    {"outcome": "refused"},
                    headers={"HX-Request": "true"},
                ),
                404,
            ),
        ),
        control=lambda w: _expect(
            w.client("owner").post(
                f"/rounds/CITY-R/untested/{w.objects['lc_untested'].pk}/visit/", {"outcome": "refused"}
            ),
            302,
        ),
    ),
    "screening/sites/": Case(
        attacks=(lambda w: _upload(w, "attacker", "/screening/sites/", "sites.csv", _sites_rows()),),
        control=lambda w: _upload(w, "owner", "/screening/sites/", "sites.csv", _sites_rows()),
    ),
    "screening/labs/": Case(
        attacks=(
            lambda w: _expect(_upload(w, "attacker", "/screening/labs/", "labs.csv", _labs_rows()), 403),
        ),
        control=lambda w: _upload(w, "owner", "/screening/labs/", "labs.csv", _labs_rows()),
    ),
    "people/import/": Case(
        attacks=(lambda w: _upload(w, "attacker", "/people/import/", "p.csv", _persons_rows()),),
        control=lambda w: _upload(w, "owner", "/people/import/", "p.csv", _persons_rows()),
    ),
    # Tracing: a case, a placement, a trace task, a contact, a finding of Licheng's.
    "tracing/cases/": Case(
        attacks=(
            lambda w: _expect(w.client("attacker").post("/tracing/cases/", _case_form()), 400),
            lambda w: _expect(
                w.client("attacker").post("/tracing/cases/", _case_form(case_code="LC-C1")), 400
            ),
            lambda w: _upload(w, "attacker", "/tracing/cases/", "c.csv", _cases_rows(), action="upload"),
        ),
        control=lambda w: _expect(w.client("owner").post("/tracing/cases/", _case_form()), 302),
    ),
    "tracing/cases/<str:case_code>/": Case(
        attacks=(
            lambda w: _expect(
                w.client("attacker").post("/tracing/cases/LC-C1/", {"placement": "fangcang", "reason": "x"}),
                404,
            ),
        ),
        control=lambda w: _expect(
            w.client("owner").post("/tracing/cases/LC-C1/", {"placement": "fangcang", "reason": "x"}), 302
        ),
    ),
    "tracing/cases/<str:case_code>/trace/": Case(
        attacks=(
            lambda w: _expect(
                w.client("attacker").post("/tracing/cases/LC-C1/trace/", {"action": "update", "team": "x"}),
                404,
            ),
            lambda w: _expect(
                w.client("attacker").post(
                    "/tracing/cases/LC-C1/trace/", {"action": "contact", **_contact_form()}
                ),
                404,
            ),
        ),
        control=lambda w: _expect(
            w.client("owner").post("/tracing/cases/LC-C1/trace/", {"action": "contact", **_contact_form()}),
            302,
        ),
    ),
    "tracing/contacts/": Case(
        attacks=(lambda w: _upload(w, "attacker", "/tracing/contacts/", "k.csv", _contacts_rows()),),
        control=lambda w: _upload(w, "owner", "/tracing/contacts/", "k.csv", _contacts_rows()),
    ),
    "tracing/findings/": Case(
        attacks=(lambda w: _expect(w.client("attacker").post("/tracing/findings/", _finding_form(w)), 400),),
        control=lambda w: _expect(w.client("owner").post("/tracing/findings/", _finding_form(w)), 302),
    ),
    # Companions: a run over Licheng's case, and deciding on a row beside it (the attacker sees the
    # row through their own resident, but the case is Licheng's).
    "companions/": Case(
        attacks=(
            lambda w: _expect(
                w.client("attacker").post(
                    "/companions/", {"file": SimpleUploadedFile("p.csv", _pings()), "cases": "LC-C1"}
                ),
                400,
            ),
        ),
        control=lambda w: _expect(
            w.client("owner").post(
                "/companions/", {"file": SimpleUploadedFile("p.csv", _pings()), "cases": "LC-C1"}
            ),
            302,
        ),
    ),
    "companions/review/": Case(
        attacks=tuple(
            lambda w, action=action, field=field: w.client("attacker").post(
                "/companions/review/", {"action": action, field: [w.objects["companion"].pk]}
            )
            for action, field in (("confirm", "row"), ("confirm_all", "shown"), ("dismiss", "row"))
        ),
        control=lambda w: w.client("owner").post(
            "/companions/review/", {"action": "confirm", "row": [w.objects["companion"].pk]}
        ),
    ),
    "protocol/": Case(
        attacks=(
            lambda w: _expect(
                w.client("attacker").post("/protocol/", {"edition": "p8", "reason": "某文件 第1号"}), 400
            ),
        ),
        control=lambda w: _expect(
            w.client("owner").post("/protocol/", {"edition": "p8", "reason": "某文件 第1号"}), 302
        ),
    ),
    **{
        # Custody: Licheng's hotel and 方舱, their stays, a Licheng resident's transfer; "away" is a
        # Jinjiang resident held in Licheng's hotel — Jinjiang sees that stay but may not change it.
        "custody/transfers/new/": Case(
            attacks=(
                lambda w: w.client("attacker").post(
                    "/custody/transfers/new/", {"id_number": OTHER_ID, "category": "close"}
                ),
                lambda w: w.client("attacker").post(
                    "/custody/transfers/new/",
                    {"id_number": NEW_ID, "category": "close", "community_code": LC_COMMUNITY},
                ),
            ),
            control=lambda w: _expect(
                w.client("owner").post(
                    "/custody/transfers/new/",
                    {"id_number": NEW_ID, "category": "close", "community_code": LC_COMMUNITY},
                ),
                302,
            ),
        ),
        "custody/transfers/<int:order_pk>/step/": Case(
            attacks=(
                lambda w: _expect(
                    w.client("attacker").post(
                        f"/custody/transfers/{w.objects['order'].pk}/step/",
                        {"action": "cancel", "reason": "x"},
                    ),
                    404,
                ),
            ),
            control=lambda w: w.client("owner").post(
                f"/custody/transfers/{w.objects['order'].pk}/step/", {"action": "cancel", "reason": "x"}
            ),
        ),
        "custody/places/": Case(
            attacks=(
                lambda w: _expect(
                    w.client("attacker").post("/custody/places/", _place_form(LC_COMMUNITY)), 400
                ),
                lambda w: _expect(
                    w.client("attacker").post(
                        "/custody/places/", {**_place_form(JJ_COMMUNITY), "code": "LC-H1"}
                    ),
                    400,
                ),
            ),
            control=lambda w: _expect(
                w.client("owner").post("/custody/places/", _place_form(LC_COMMUNITY)), 302
            ),
        ),
        "custody/places/<int:place_pk>/check-in/": Case(
            attacks=(
                lambda w: _expect(
                    w.client("attacker").post(
                        f"/custody/places/{w.objects['place'].pk}/check-in/", {"id_number": OWN2_ID}
                    ),
                    404,
                ),
            ),
            control=lambda w: w.client("owner").post(
                f"/custody/places/{w.objects['place'].pk}/check-in/", {"id_number": OWN2_ID}
            ),
        ),
        "custody/stays/<int:stay_pk>/test/": Case(
            attacks=tuple(
                (
                    lambda w, k=k: _expect(
                        w.client("attacker").post(
                            f"/custody/stays/{w.objects[k].pk}/test/", _test_form(w, k)
                        ),
                        404,
                    )
                )
                # The home health monitoring after a discharge is the home jurisdiction's: neither
                # Licheng's own discharge nor a Licheng resident discharged from Jinjiang's hospital
                # (Jinjiang sees that stay) takes a monitoring test from Jinjiang.
                for k in ("stay", "away", "discharged", "discharged_here")
            ),
            control=lambda w: _both_tests_recorded(w),
        ),
        "custody/stays/<int:stay_pk>/end/": Case(
            attacks=tuple(
                (
                    lambda w, k=k: _expect(
                        w.client("attacker").post(
                            f"/custody/stays/{w.objects[k].pk}/end/", {"return_home": "x"}
                        ),
                        404,
                    )
                )
                for k in ("bed", "away")
            ),
            control=lambda w: w.client("owner").post(f"/custody/stays/{w.objects['bed'].pk}/end/"),
        ),
    },
}

NEW_ID = rid(LICHENG, "19920202", "777")


def _custody_world(other) -> dict:
    """Licheng's hotel holding a Licheng resident (with a live transfer order) and a Jinjiang one,
    and Licheng's 方舱 with a patient who meets the discharge rule."""
    from lianfang.custody.services import stay_check_in, stay_test_record
    from tests.custody.helpers import custody_world, discharge, make_place

    found = custody_world(other, LC_COMMUNITY, "LC")
    patient = make_person(
        id_number=rid(LICHENG, "19600606", "606"), name="鲤城病人", community_code=LC_COMMUNITY
    )
    ward = make_place("LC-F1", LC_COMMUNITY, kind="fangcang", units="1-3")
    start = timezone.now() - dt.timedelta(days=5)
    bed = stay_check_in(actor=None, place=ward, id_type="resident_id", id_number=patient.id_number, at=start)
    for hours in (24, 50):
        stay_test_record(
            actor=None,
            stay=bed,
            sampled_at=start + dt.timedelta(hours=hours),
            result="negative",
            ct_n=38,
            ct_orf1ab=38,
        )
    away = stay_check_in(actor=None, place=found["place"], id_type="resident_id", id_number=OWN_ID, at=start)
    # A Licheng resident discharged two days ago from Jinjiang's hospital: Jinjiang sees the stay,
    # Licheng (home) holds the monitoring.
    visitor = make_person(
        id_number=rid(LICHENG, "19650707", "707"), name="鲤城出院", community_code=LC_COMMUNITY
    )
    hospital = make_place("JJ-D1", JJ_COMMUNITY, kind="designated_hospital", units="1-2")
    here = discharge(visitor, hospital, discharged_at=timezone.now() - dt.timedelta(days=2))
    return {**found, "ward": ward, "bed": bed, "away": away, "start": start, "discharged_here": here}


def _place_form(community: str) -> dict:
    return {
        "code": "NEW-H",
        "name": "新酒店",
        "kind": "hotel",
        "community_code": community,
        "units": "1-3",
        "beds": "1",
    }


def _test_form(w: World, key: str) -> dict:
    if key.startswith("discharged"):  # in the home health monitoring (discharged two days ago)
        return {"sampled_at": _local(timezone.now() - dt.timedelta(hours=1)), "result": "negative"}
    return {"sampled_at": _local(w.objects["start"] + dt.timedelta(hours=3)), "result": "negative"}


def _both_tests_recorded(w: World):
    """The owner's control hits both targets: a test of an open stay, and a monitoring test."""
    from lianfang.custody.models import StayTest

    before = StayTest.objects.count()
    for key in ("away", "discharged"):
        _expect(w.client("owner").post(f"/custody/stays/{w.objects[key].pk}/test/", _test_form(w, key)), 302)
    assert StayTest.objects.count() == before + 2, "a control test was not recorded"


# Public pages that take a POST and hold no scoped data (signing in and out, the language). Not
# posted here: logging the attacker out would make every later case pass for the wrong reason.
# The resident page (no login: a phone and a one-time code) is public; tests/livelihood covers it.
PUBLIC_POSTS = {"login/", "logout/", "lang/", "r/<str:token>/"}

# Read pages without a method restriction: a POST is answered as a GET. Posted to anyway (with
# the other county's values in the URL): nothing may change.
READ_PAGES_ANSWERING_POST = {
    "",
    "divisions/",
    "divisions/<str:code>/",
    "divisions/<str:code>/export.<str:fmt>",
    "people/",
    "people/<int:pk>/",
    "imports/<uuid:pk>/",
    "imports/<uuid:pk>/rejects.csv",
    "api/docs",
    "rounds/<str:code>/",
    "rounds/<str:code>/alerts/",
    "rounds/<str:code>/area/<str:division_code>/",
    "rounds/<str:code>/area/<str:division_code>/untested.<str:fmt>",
    "rounds/<str:code>/pools/<str:barcode>/",
    "rounds/<str:code>/tasks/",
}

API_CASES: dict[tuple[str, str], Case] = {
    ("/api/v1/screening/rounds", "post"): Case(
        attacks=(
            lambda w: _expect(
                w.api("attacker", "/screening/rounds", {"code": "NEW-R", "scope": [LICHENG]}), 400
            ),
            lambda w: _expect(
                w.api("attacker", "/screening/rounds", {"code": "LC-R1", "scope": [JINJIANG]}), 400
            ),
        ),
        control=lambda w: _expect(
            w.api("owner", "/screening/rounds", {"code": "NEW-R", "scope": [LICHENG]}), 200
        ),
    ),
    ("/api/v1/screening/tubes", "post"): Case(
        attacks=(
            lambda w: w.api(
                "attacker",
                "/screening/tubes",
                {**_tube_head(w), "site_code": "", "members": [_member(w)]},
                device=True,
            ),
            lambda w: w.api("attacker", "/screening/tubes", {**_tube_head(w), "members": [_member(w)]}),
        ),
        control=lambda w: w.api(
            "owner", "/screening/tubes", {**_tube_head(w), "site_code": "LC-S1", "members": [_member(w)]}
        ),
    ),
    ("/api/v1/screening/scans", "post"): Case(
        attacks=(
            lambda w: w.api("attacker", "/screening/scans", {**_tube_head(w), **_member(w)}, device=True),
            lambda w: w.api("attacker", "/screening/scans", {**_tube_head(w), **_member(w)}),
        ),
        control=lambda w: w.api(
            "owner", "/screening/scans", {**_tube_head(w), **_member(w), "site_code": "LC-S1"}
        ),
    ),
    ("/api/v1/screening/samples", "post"): Case(
        attacks=(
            lambda w: w.api("attacker", "/screening/samples", {"rows": _samples_rows(w)}, device=True),
            lambda w: w.api("attacker", "/screening/samples", {"rows": _samples_rows(w)}),
        ),
        control=lambda w: w.api("owner", "/screening/samples", {"rows": _samples_rows(w, site="LC-S1")}),
    ),
    ("/api/v1/screening/boxes", "post"): Case(
        attacks=(
            lambda w: _expect(
                w.api(
                    "attacker",
                    "/screening/boxes",
                    {"box_code": "LC-B1", "round_code": "CITY-R", "tubes": ["LC-T1"]},
                    device=True,
                ),
                404,
                409,
            ),
            lambda w: _expect(
                w.api(
                    "attacker",
                    "/screening/boxes",
                    {"box_code": "LC-B1", "round_code": "CITY-R", "site_code": "JJ-S1", "tubes": ["LC-T1"]},
                ),
                404,
                409,
            ),
        ),
        control=lambda w: _expect(
            w.api(
                "owner",
                "/screening/boxes",
                {"box_code": "LC-B1", "round_code": "CITY-R", "site_code": "LC-S1", "tubes": ["LC-T1"]},
            ),
            200,
        ),
    ),
    ("/api/v1/screening/results", "post"): Case(
        attacks=(
            lambda w: _expect(w.api("attacker", "/screening/results", {"rows": _result_rows(w)}), 200),
            # A result held for a barcode nobody registered yet would land on whichever county's
            # tube takes it later.
            lambda w: _expect(w.api("attacker", "/screening/results", {"rows": _held_rows(w)}), 200),
        ),
        control=lambda w: _expect(w.api("owner", "/screening/results", {"rows": _result_rows(w)}), 200),
    ),
    ("/api/v1/screening/tasks/{task_id}/sample", "post"): Case(
        attacks=(
            lambda w: _expect(
                w.api("attacker", f"/screening/tasks/{w.objects['task'].pk}/sample", {"tube_barcode": "C-1"}),
                404,
            ),
        ),
        control=lambda w: _expect(
            w.api("owner", f"/screening/tasks/{w.objects['task'].pk}/sample", {"tube_barcode": "C-1"}), 200
        ),
    ),
    # tracing: a contact added to Licheng's case, Licheng's trace moved on (the pages' services)
    ("/api/v1/tracing/cases/{case_code}/contacts", "post"): Case(
        attacks=(
            lambda w: _expect(w.api("attacker", "/tracing/cases/LC-C1/contacts", _contact_form()), 404),
        ),
        control=lambda w: _expect(w.api("owner", "/tracing/cases/LC-C1/contacts", _contact_form()), 200),
    ),
    ("/api/v1/tracing/cases/{case_code}/trace", "post"): Case(
        attacks=(
            lambda w: _expect(
                w.api("attacker", "/tracing/cases/LC-C1/trace", {"team": "x", "core_done": True}), 404
            ),
        ),
        control=lambda w: _expect(
            w.api("owner", "/tracing/cases/LC-C1/trace", {"team": "x", "core_done": True}), 200
        ),
    ),
    # custody: Licheng's order moved, a person checked in at Licheng's hotel or 方舱
    ("/api/v1/custody/transfers/{order_id}/transition", "post"): Case(
        attacks=(
            lambda w: _expect(
                w.api(
                    "attacker",
                    f"/custody/transfers/{w.objects['order'].pk}/transition",
                    {"action": "cancel", "reason": "x"},
                ),
                404,
            ),
        ),
        control=lambda w: _expect(
            w.api(
                "owner",
                f"/custody/transfers/{w.objects['order'].pk}/transition",
                {"action": "cancel", "reason": "x"},
            ),
            200,
        ),
    ),
    ("/api/v1/custody/places/{place_id}/check-in", "post"): Case(
        attacks=tuple(
            lambda w, k=k: _expect(
                w.api("attacker", f"/custody/places/{w.objects[k].pk}/check-in", {"id_number": OWN2_ID}), 404
            )
            for k in ("place", "ward")
        ),
        control=lambda w: _expect(
            w.api("owner", f"/custody/places/{w.objects['place'].pk}/check-in", {"id_number": OWN2_ID}), 200
        ),
    ),
}


def _tube_head(w: World) -> dict:
    return {"round_code": "CITY-R", "tube_barcode": "LC-T1", "pool_size": 10, "site_code": "JJ-S1"}


def _member(w: World) -> dict:
    return {"id_number": OWN_ID, "collected_at": w.objects["at"]}


def _places_rows(community: str, code: str) -> list[dict]:
    return [
        {"place_code": code, "name": "新隔离点", "kind": "hotel", "community_code": community, "units": "1-3"}
    ]


def _import(w: World, who: str, kind: str, rows: list[dict]):
    with contextlib.suppress(Refused):
        return import_file(kind=kind, path=w.file(f"{kind}.csv", rows), actor=w.actor(who))


def _import_as_server(w: World, kind: str, rows: list[dict]):
    run = plugins.resolve(plugins.importer(kind).run)
    return run(paths=[w.file(f"{kind}.csv", rows)], actor=None)


IMPORT_CASES: dict[str, Case] = {
    "persons": Case(
        attacks=(lambda w: _import(w, "attacker", "persons", _persons_rows()),),
        control=lambda w: _import(w, "owner", "persons", _persons_rows()),
    ),
    "sites": Case(
        attacks=(lambda w: _import(w, "attacker", "sites", _sites_rows()),),
        control=lambda w: _import(w, "owner", "sites", _sites_rows()),
    ),
    "labs": Case(
        attacks=(lambda w: _import(w, "attacker", "labs", _labs_rows()),),
        control=lambda w: _import(w, "owner", "labs", _labs_rows()),
    ),
    "samples": Case(
        attacks=(lambda w: _import(w, "attacker", "samples", _samples_rows(w)),),
        control=lambda w: _import(w, "owner", "samples", _samples_rows(w, site="LC-S1")),
    ),
    "results": Case(
        attacks=(
            lambda w: _import(w, "attacker", "results", _result_rows(w)),
            lambda w: _import(w, "attacker", "results", _held_rows(w)),
        ),
        control=lambda w: _import(w, "owner", "results", _held_rows(w)),
    ),
    "cases": Case(
        attacks=(lambda w: _import(w, "attacker", "cases", _cases_rows()),),
        control=lambda w: _import(w, "owner", "cases", _cases_rows()),
    ),
    "contacts": Case(
        attacks=(lambda w: _import(w, "attacker", "contacts", _contacts_rows()),),
        control=lambda w: _import(w, "owner", "contacts", _contacts_rows()),
    ),
    # A zone over another county's community is unknown_area to the attacker.
    "zones": Case(
        attacks=(lambda w: _import(w, "attacker", "zones", _zones_rows()),),
        control=lambda w: _import(w, "owner", "zones", _zones_rows()),
    ),
    # A place in another county's community is unknown_community to the attacker; a row naming
    # the other county's existing place (in the attacker's own community) is code_taken.
    "places": Case(
        attacks=(
            lambda w: _import(w, "attacker", "places", _places_rows(LC_COMMUNITY, "LC-H9")),
            lambda w: _import(w, "attacker", "places", _places_rows(JJ_COMMUNITY, "LC-H1")),
        ),
        control=lambda w: _import(w, "owner", "places", _places_rows(LC_COMMUNITY, "LC-H9")),
    ),
    # A compound and building in another county's community is unknown_community to the attacker.
    "buildings": Case(
        attacks=(lambda w: _import(w, "attacker", "buildings", _buildings_rows(LC_COMMUNITY)),),
        control=lambda w: _import(w, "owner", "buildings", _buildings_rows(LC_COMMUNITY)),
    ),
    # The division tree is the server's alone: every actor is refused, the control runs as the server.
    "divisions": Case(
        attacks=(
            lambda w: _import(
                w, "attacker", "divisions", [{"code": LC_COMMUNITY[:9] + "999", "name": "新村"}]
            ),
            lambda w: _import(w, "owner", "divisions", [{"code": LC_COMMUNITY[:9] + "999", "name": "新村"}]),
        ),
        control=lambda w: _import_as_server(
            w, "divisions", [{"code": LC_COMMUNITY[:9] + "999", "name": "新村"}]
        ),
    ),
}


def _buildings_rows(community: str) -> list[dict]:
    return [{"community_code": community, "compound": "新小区", "building": "1号楼"}]


def _zones_rows() -> list[dict]:
    return [
        {"zone_code": "LC-Z9", "name": "鲤城封控区", "type": "sealed", "area": LC_COMMUNITY,
         "designated_at": "2022-03-20 10:00"}
    ]  # fmt: skip


def _cli(argv: list[str]) -> int:
    from lianfang.cli import build_parser

    args = build_parser().parse_args(argv)
    return args.func(args)


# CLI subcommands that act for a user (a named account's authority): the case runs them.
CLI_ACTOR_CASES: dict[tuple[str, ...], Case] = {
    # A device token writes as its user: binding the Jinjiang user's token to Licheng's site is refused.
    ("device",): Case(
        attacks=(lambda w: _expect_exit(_cli(["device", "issue", "jj_admin", "--site", "LC-S1"]), 2),),
        control=lambda w: _expect_exit(_cli(["device", "issue", "city_admin", "--site", "LC-S1"]), 0),
    ),
}

# CLI subcommands run with the server's own authority (the operator at the machine): no actor.
CLI_SERVER_AUTHORITY = {
    ("init",),
    ("serve",),
    ("backup",),
    ("restore",),
    ("worker",),
    ("import",),
    ("round", "open"),
    ("round", "close"),
    ("round", "report"),
    ("zones", "status"),
    ("livelihood", "escalate"),
    ("protocol", "show"),
    ("protocol", "switch"),
    ("trace", "plans"),
    ("demo",),
    ("simulate",),
    ("trace", "companions"),  # reads every case, writes a file; audited as an export
    ("briefing",),
    ("problems", "raise"),
    ("schedule", "list"),
    ("schedule", "run"),  # the apps' timed jobs, each idempotent, as the worker runs them
    ("places", "link"),  # sets only buildings still NULL, from the registry's own addresses; audited
}
# An argument naming an account: a subcommand with one acts for that user.
ACTOR_ARGUMENTS = {"username", "user", "as_user", "actor"}


def _expect_exit(code: int, expected: int) -> int:
    assert code == expected, code
    return code


def run_case(name: str, case: Case, w: World, capture) -> None:
    """Each attack changes nothing (and answers no 500); the owner's control changes something."""
    for i, attack in enumerate(case.attacks):
        with transaction.atomic():
            before = snapshot()
            with capture(execute=True):
                response = attack(w)
            if hasattr(response, "status_code"):
                assert response.status_code < 500, (name, i, response.status_code)
            changed = diff(before, snapshot())
            assert not changed, f"{name} (attack {i}): another jurisdiction's write changed {changed}"
            transaction.set_rollback(True)
    with transaction.atomic():
        before = snapshot()
        with capture(execute=True):
            response = case.control(w)
        if hasattr(response, "status_code"):
            assert response.status_code < 500, (name, "control", response.status_code)
        assert diff(before, snapshot()), (
            f"{name}: the owner's control changed nothing (the case misses its target)"
        )
        transaction.set_rollback(True)


# --- the walkers -------------------------------------------------------------------------------


def site_routes():
    """The pages (the admin and the API guard themselves; the API is walked below)."""
    return [(r, p) for r, p, ns in walk(get_resolver().url_patterns) if not set(ns) & SELF_GUARDED_NAMESPACES]


def fill(route: str, w: World) -> list[str]:
    """Concrete URLs for a route, every parameter pointing at another county's (or the city's) data."""
    values = {
        "int:pk": [
            str(w.objects["other"].pk),
            str(w.objects["alert"].pk),
            str(w.objects["task"].pk),
            str(w.objects["proposal"].pk),
            str(w.objects["lv"]["new"].pk),
            str(w.objects["lv"]["assigned"].pk),
            str(w.objects["lv"]["delivered"].pk),
        ],  # fmt: skip
        "str:token": [resident_token(LC_COMMUNITY)],
        "uuid:pk": [str(w.objects["job"].pk)],
        "uuid:run_id": [str(w.objects["run"].pk)],
        "str:code": ["CITY-R", "LC-R1", LC_COMMUNITY, LICHENG, "LC-Z1"],
        "str:division_code": [LICHENG, LC_COMMUNITY],
        "str:barcode": ["LC-T1"],
        "str:fmt": ["csv"],
        "str:day": ["2022-03-25"],  # a briefing's window (command)
        "int:order_pk": [str(w.objects["order"].pk)],
        "int:place_pk": [str(w.objects["place"].pk), str(w.objects["ward"].pk)],
        "int:stay_pk": [
            str(w.objects[k].pk) for k in ("stay", "bed", "away", "discharged", "discharged_here")
        ],
        "str:kind": ["persons"],
    }
    urls = ["/" + route]
    for param in re.findall(r"<([^>]+)>", route):
        options = values.get(param)
        assert options, f"no test value for route parameter <{param}> in {route}: add one here"
        urls = [u.replace(f"<{param}>", v) for u in urls for v in options]
    return urls


def test_every_page_that_takes_a_post_is_scoped(world, django_capture_on_commit_callbacks):
    routes = {route: p for route, p in site_routes()}
    for route in PUBLIC_POSTS:
        assert getattr(routes[route].callback, ACCESS_ATTR, None) == PUBLIC, route
    missing, checked = [], 0
    for route in sorted(routes):
        if route in PUBLIC_POSTS:
            continue
        if route in PAGE_CASES:
            run_case(route, PAGE_CASES[route], world, django_capture_on_commit_callbacks)
            checked += 1
            continue
        accepts = False
        for url in fill(route, world):
            with transaction.atomic():
                before = snapshot()
                response = world.client("attacker").post(url, {})
                assert response.status_code < 500, (url, response.status_code)
                assert not diff(before, snapshot()), url
                transaction.set_rollback(True)
            accepts |= response.status_code != 405
        if accepts and route not in READ_PAGES_ANSWERING_POST:
            missing.append(route)
        if not accepts:
            assert route not in READ_PAGES_ANSWERING_POST, (
                f"{route} refuses a POST now: drop it from the list"
            )
    assert not missing, f"pages that take a POST without a write-scoping case here: {missing}"
    assert not set(PAGE_CASES) - set(routes), (
        f"cases for routes that are gone: {set(PAGE_CASES) - set(routes)}"
    )
    assert checked == len(PAGE_CASES)


def api_writes() -> list[tuple[str, str]]:
    schema = api.get_openapi_schema()
    return sorted(
        (path, method) for path, ops in schema["paths"].items() for method in ops if method != "get"
    )


def test_every_api_write_is_scoped(world, django_capture_on_commit_callbacks):
    writes = api_writes()
    missing = [w for w in writes if w not in API_CASES]
    assert not missing, f"API writes without a write-scoping case here: {missing}"
    assert not set(API_CASES) - set(writes), (
        f"cases for API routes that are gone: {set(API_CASES) - set(writes)}"
    )
    for route in writes:
        run_case(str(route), API_CASES[route], world, django_capture_on_commit_callbacks)


def test_every_import_kind_is_scoped(world, django_capture_on_commit_callbacks):
    kinds = set(plugins.importers())
    assert kinds == set(IMPORT_CASES), f"import kinds without a case: {kinds - set(IMPORT_CASES)}"
    for kind in sorted(kinds):
        run_case(kind, IMPORT_CASES[kind], world, django_capture_on_commit_callbacks)


def cli_commands() -> dict[tuple[str, ...], object]:
    """Every leaf subcommand of ``lianfang`` (``round open`` …) and its parser."""
    import argparse

    from lianfang.cli import build_parser

    def leaves(parser, path):
        subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if not subs:
            return {path: parser}
        out = {}
        for action in subs:
            for name, child in action.choices.items():
                out.update(leaves(child, (*path, name)))
        return out

    return leaves(build_parser(), ())


def test_every_cli_command_is_classified_and_the_ones_with_an_actor_are_scoped(
    world, django_capture_on_commit_callbacks
):
    commands = cli_commands()
    takes_actor = {
        path for path, parser in commands.items() if {a.dest for a in parser._actions} & ACTOR_ARGUMENTS
    }
    assert takes_actor <= set(CLI_ACTOR_CASES), (
        f"CLI commands acting for a user without a case: {takes_actor}"
    )
    unclassified = set(commands) - set(CLI_ACTOR_CASES) - CLI_SERVER_AUTHORITY
    assert not unclassified, f"new CLI commands: add a case or list them as server authority: {unclassified}"
    assert not (set(CLI_ACTOR_CASES) | CLI_SERVER_AUTHORITY) - set(commands), "listed commands that are gone"
    for path, case in CLI_ACTOR_CASES.items():
        run_case(" ".join(path), case, world, django_capture_on_commit_callbacks)


# --- the answers: "not yours" tells nothing of the object --------------------------------------


def test_another_countys_codes_answer_taken_and_nothing_more(world):
    """A round, box, site or tube code of another county answers that the code is taken: never
    its scope, round, site or members."""
    attacker = world.actor("attacker")
    with pytest.raises(services.ScreeningError) as exc:
        services.round_open(actor=attacker, code="LC-R1", name="x", scope=[JINJIANG])
    assert exc.value.code == "code_taken" and LICHENG not in str(exc.value)
    with pytest.raises(services.ScreeningError) as exc:
        services.box_handover(
            actor=attacker, box_code="LC-B1", round_code="CITY-R", tubes=[], site_code="JJ-S1"
        )
    assert exc.value.code == "code_taken" and "LC-S1" not in str(exc.value)
    summary, outcomes = services.sites_import(table=pa.Table.from_pylist(_sites_rows()), actor=attacker)
    assert list(outcomes) == ["code_taken"]
    summary, outcomes = services.samples_import(
        table=pa.Table.from_pylist(
            _samples_rows(world) * 2 + [{**_samples_rows(world)[0], "pool_size": "5"}]
        ),
        actor=attacker,
    )
    # Not accepted, not a duplicate, not a pool size conflict: the same answer for every row.
    assert list(outcomes) == ["tube_taken"] * 3
    r = world.api("attacker", "/screening/results", {"rows": _result_rows(world) * 2})
    assert [row["outcome"] for row in r.json()["rows"]] == ["tube_out_of_jurisdiction"] * 2
    # A barcode not registered yet answers the same: not there and not yours look alike.
    r = world.api("attacker", "/screening/results", {"rows": _held_rows(world)})
    assert [row["outcome"] for row in r.json()["rows"]] == ["tube_out_of_jurisdiction"]
    with pytest.raises(services.OutsideJurisdiction):
        services.round_close(
            actor=attacker, rnd=services.round_open(actor=None, code="CITY-R", name="", scope=[CITY])
        )


def test_a_device_adds_only_to_its_own_sites_tubes(world):
    """Within the county too: a desk's token writes for its site; the county's office for all of them."""
    services.sites_import(
        table=pa.Table.from_pylist(
            [{"site_code": "JJ-S2", "name": "晋江二号点", "community_code": JJ_COMMUNITY}]
        ),
        actor=None,
    )
    row = {**_samples_rows(world)[0], "tube_barcode": "JJ-T2", "site_code": "JJ-S2"}
    assert services.samples_import(table=pa.Table.from_pylist([row]), actor=None)[0].accepted == 1
    scan = {**_tube_head(world), "tube_barcode": "JJ-T2", "site_code": "", "id_number": OWN2_ID}
    scan["collected_at"] = world.objects["at"]
    r = world.api("attacker", "/screening/scans", scan, device=True)
    assert [row["outcome"] for row in r.json()["rows"]] == ["tube_taken"]
    r = world.api("attacker", "/screening/scans", {**scan, "site_code": "JJ-S2"})
    assert [row["outcome"] for row in r.json()["rows"]] == ["accepted"]
