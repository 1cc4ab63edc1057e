"""Write-then-read across counties: a Jinjiang desk scanning a Nan'an resident's ID into its own
tube does not open Nan'an's registry to Jinjiang's pages; the sample is flagged to Nan'an."""

from __future__ import annotations

import datetime as dt
import json

import pyarrow as pa
import pytest
from django.test import Client
from django.utils import timezone

from lianfang.accounts.models import AuditEvent
from lianfang.accounts.roles import Role
from lianfang.accounts.scoping import Actor
from lianfang.core.times import format_time
from lianfang.screening import selectors, services
from lianfang.screening.models import RecheckTask, Site
from tests.conftest import JINJIANG, JJ_COMMUNITY, LC_COMMUNITY, logged_in, make_person, make_user, rid

NANAN = "350583"
NA_COMMUNITY = "350583001001"
NA_ID = rid(NANAN, "19700101", "123")
JJ_ID = rid(JINJIANG, "19800101", "456")
NA_NAME, NA_PHONE, NA_ADDRESS = "南安居民甲", "13955550000", "南安市溪美街道某路1号"


@pytest.fixture
def world(db):
    now = timezone.now()
    make_person(
        id_number=NA_ID, name=NA_NAME, community_code=NA_COMMUNITY, phone=NA_PHONE, address=NA_ADDRESS
    )
    make_person(id_number=JJ_ID, name="晋江居民乙", community_code=JJ_COMMUNITY)
    services.sites_import(
        table=pa.Table.from_pylist(
            [{"site_code": "JJ-S1", "name": "晋江点", "community_code": JJ_COMMUNITY}]
        ),
        actor=None,
    )
    services.labs_import(table=pa.table({"lab_code": ["L1"], "name": ["实验室"]}), actor=None)
    # A Jinjiang round: Nan'an does not even see it.
    services.round_open(
        actor=None, code="JJ-R", name="晋江轮次", scope=[JINJIANG], starts_at=now - dt.timedelta(hours=3)
    )
    desk_user = make_user("jj_desk", Role.SAMPLER, [JINJIANG])
    _, raw = services.device_token_issue(user=desk_user, name="desk", site=Site.objects.get(code="JJ-S1"))
    at = format_time(now - dt.timedelta(minutes=10))
    response = Client().post(
        "/api/v1/screening/tubes",
        json.dumps(
            {
                "round_code": "JJ-R",
                "tube_barcode": "JJ-T1",
                "pool_size": 10,
                "members": [
                    {"id_number": NA_ID, "collected_at": at},
                    {"id_number": JJ_ID, "collected_at": at},
                ],
            }
        ),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {raw}",
    )
    assert response.status_code == 200 and response.json()["accepted"] == 2, response.content
    services.results_import(
        table=pa.table(
            {"tube_barcode": ["JJ-T1"], "lab_code": ["L1"], "result": ["positive"], "reported_at": [at]}
        ),
        actor=None,
    )
    return now


def _page(user, url: str) -> str:
    response = logged_in(user).get(url)
    assert response.status_code == 200, (url, response.status_code)
    return response.content.decode()


@pytest.mark.parametrize("role", [Role.COMMAND_OFFICE, Role.COMMUNITY_WORKER])
def test_the_pool_page_shows_only_what_the_device_sent_for_people_of_other_counties(world, role):
    """Masked or not, Jinjiang sees the ID it scanned (masked as its role sees IDs) and nothing of
    Nan'an's registry: no name, phone, address, community, person link or re-check task."""
    viewer = make_user("jj_viewer", role, [JINJIANG])
    body = _page(viewer, "/rounds/JJ-R/pools/JJ-T1/")
    assert "晋江居民乙" in body  # their own resident, as before
    for leak in (NA_NAME, NA_PHONE, NA_PHONE[-4:], NA_ADDRESS, "溪美社区"):
        assert leak not in body, leak
    assert "辖区外人员" in body
    shown_id = NA_ID if Actor.for_user(viewer).sees_personal_data else NA_ID[:6]
    assert shown_id in body
    assert NA_ID not in body or Actor.for_user(viewer).sees_personal_data
    # The Nan'an member's re-check task is Nan'an's: not on Jinjiang's page.
    na_task = RecheckTask.objects.get(person__id_number=NA_ID)
    assert na_task.county_code == NANAN and f"task-{na_task.pk}" not in body


def test_the_sample_is_flagged_to_the_persons_home_county(world):
    nanan = make_user("na_office", Role.COMMAND_OFFICE, [NANAN])
    assert logged_in(nanan).get("/rounds/JJ-R/").status_code == 404  # the round is not Nan'an's
    body = _page(nanan, "/screening/elsewhere/")
    assert NA_NAME in body and "JJ-T1" in body and "晋江市" in body and "JJ-R" in body
    assert "晋江居民乙" not in body
    assert AuditEvent.objects.filter(object_type="sampled_elsewhere", user=nanan).exists()
    # Nobody else is flagged: not Jinjiang (its own site), not Licheng (not its resident).
    jinjiang = make_user("jj_office", Role.COMMAND_OFFICE, [JINJIANG])
    assert NA_NAME not in _page(jinjiang, "/screening/elsewhere/")
    assert selectors.sampled_elsewhere(actor=Actor.for_user(jinjiang)) == []
    licheng = make_user("lc_office", Role.COMMAND_OFFICE, [LC_COMMUNITY[:6]])
    assert selectors.sampled_elsewhere(actor=Actor.for_user(licheng)) == []
    # A closed round's samples leave the working list.
    services.round_close(
        actor=None, rnd=services.round_open(actor=None, code="JJ-R", name="", scope=[JINJIANG])
    )
    assert selectors.sampled_elsewhere(actor=Actor.for_user(nanan)) == []


def test_the_flag_page_takes_no_post(world):
    nanan = make_user("na_office", Role.COMMAND_OFFICE, [NANAN])
    assert logged_in(nanan).post("/screening/elsewhere/").status_code == 405
