"""An alert of an abnormal pool is signed off by the pool's own jurisdiction: a county that sees it
because a member lives there is shown it, but may not take it off everyone's open list."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest
from django.utils import timezone

from lianfang.accounts.roles import Role
from lianfang.core.times import format_time
from lianfang.screening import services
from lianfang.screening.models import PoolAlert
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

JJ_ID = rid(JINJIANG, "19800101", "456")


@pytest.fixture
def alert(db):
    now = timezone.now()
    make_person(id_number=JJ_ID, name="晋江居民", community_code=JJ_COMMUNITY)
    services.sites_import(
        table=pa.Table.from_pylist(
            [{"site_code": "LC-S1", "name": "鲤城点", "community_code": LC_COMMUNITY}]
        ),
        actor=None,
    )
    services.labs_import(table=pa.table({"lab_code": ["L1"], "name": ["实验室"]}), actor=None)
    services.round_open(
        actor=None, code="R", name="r", scope=[JINJIANG, LICHENG], starts_at=now - dt.timedelta(hours=2)
    )
    at = format_time(now - dt.timedelta(minutes=30))
    services.samples_import(
        table=pa.Table.from_pylist(
            [
                {
                    "round_code": "R",
                    "tube_barcode": "LC-T",
                    "pool_size": "10",
                    "id_number": JJ_ID,
                    "site_code": "LC-S1",
                    "collected_at": at,
                }
            ]
        ),
        actor=None,
    )
    services.results_import(
        table=pa.table(
            {"tube_barcode": ["LC-T"], "lab_code": ["L1"], "result": ["positive"], "reported_at": [at]}
        ),
        actor=None,
    )
    return PoolAlert.objects.get()


def test_the_members_county_sees_the_alert_but_may_not_sign_it(alert):
    jinjiang = logged_in(make_user("jj_cmd", Role.COMMANDER, [JINJIANG]))
    body = jinjiang.get("/rounds/R/").content.decode()
    assert f'id="alert-{alert.pk}"' in body
    assert f"/rounds/R/alerts/{alert.pk}/ack/" not in body
    assert jinjiang.post(f"/rounds/R/alerts/{alert.pk}/ack/").status_code == 403
    alert.refresh_from_db()
    assert alert.acknowledged_at is None
    licheng = logged_in(make_user("lc_cmd", Role.COMMANDER, [LICHENG]))
    assert f"/rounds/R/alerts/{alert.pk}/ack/" in licheng.get("/rounds/R/").content.decode()
    assert licheng.post(f"/rounds/R/alerts/{alert.pk}/ack/").status_code == 302
    alert.refresh_from_db()
    assert alert.acknowledged_at is not None
