"""The resident page by QR code: no login, a phone and a one-time code; it resists enumeration
(unguessable addresses, one answer for every phone) and flooding (rate limits, tries per code)."""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache
from django.test import Client, override_settings

from lianfang.accounts.roles import Role
from lianfang.livelihood import sms
from lianfang.livelihood.models import Request, ResidentCode
from lianfang.livelihood.views import resident_token
from tests.conftest import JJ_COMMUNITY, logged_in, make_user


@pytest.fixture(autouse=True)
def _outbox(settings):
    settings.LIVELIHOOD_SMS_BACKEND = "outbox"
    sms.outbox.clear()
    cache.clear()
    yield
    sms.outbox.clear()
    cache.clear()


def page(building="5号楼"):
    return f"/r/{resident_token(JJ_COMMUNITY, building)}/"


def last_code() -> str:
    return re.search(r"\d{6}", sms.outbox[-1][1])[0]


def login(client, phone="13800001111", url=None):
    url = url or page()
    client.post(url, {"action": "send", "phone": phone})
    return client.post(url, {"action": "verify", "phone": phone, "code": last_code()})


def test_a_resident_files_an_urgent_request_with_a_code(db):
    client = Client()
    assert client.get(page()).status_code == 200
    response = login(client)
    assert response.status_code == 302
    response = client.post(page(), {"action": "file", "name": "王芳", "address": "2单元501", "kind": "dialysis",
                                     "detail": "明早透析"})  # fmt: skip
    assert response.status_code == 200 and 'id="confirmation"' in response.content.decode()
    r = Request.objects.get()
    assert (r.source, r.urgency, r.building, r.phone, r.community_id) == (
        "resident", "urgent", "5号楼", "13800001111", JJ_COMMUNITY
    )  # fmt: skip
    assert "透析" in client.get(page()).content.decode()  # their own requests listed


def test_addresses_cannot_be_guessed_or_forged(db):
    assert Client().get(f"/r/{JJ_COMMUNITY}/").status_code == 404
    token = resident_token(JJ_COMMUNITY)
    assert Client().get(f"/r/{token[:-2]}xx/").status_code == 404
    assert Client().get(f"/r/{resident_token('350582999999')}/").status_code == 404  # not a community


def test_every_phone_gets_the_same_answer(db):
    a = Client().post(page(), {"action": "send", "phone": "13800001111"}).content.decode()
    cache.clear()
    b = Client().post(page(), {"action": "send", "phone": "13900009999"}).content.decode()
    strip = lambda s: re.sub(r'value="\d+"|value="[A-Za-z0-9]{32,}"|"X-CSRFToken": "[A-Za-z0-9]+"', "", s)  # noqa: E731
    assert strip(a) == strip(b)


def test_a_code_dies_after_its_tries_and_cannot_be_reused(db):
    client = Client()
    client.post(page(), {"action": "send", "phone": "13800001111"})
    good = last_code()
    wrong = "000000" if good != "000000" else "111111"
    for _ in range(5):
        assert (
            client.post(page(), {"action": "verify", "phone": "13800001111", "code": wrong}).status_code
            == 400
        )
    assert client.post(page(), {"action": "verify", "phone": "13800001111", "code": good}).status_code == 400
    assert ResidentCode.objects.get().attempts == 5
    cache.clear()
    fresh = Client()
    login(fresh)
    code = last_code()
    assert (
        Client().post(page(), {"action": "verify", "phone": "13800001111", "code": code}).status_code == 400
    )


def test_flooding_is_refused(db):
    client = Client()
    assert client.post(page(), {"action": "send", "phone": "13800001111"}).status_code == 200
    assert client.post(page(), {"action": "send", "phone": "13800001111"}).status_code == 429  # same phone
    statuses = [
        client.post(page(), {"action": "send", "phone": f"1380000{i:04d}"}).status_code for i in range(2, 10)
    ]
    # five sends a minute from one address, refused ones counted: three more pass, then 429
    assert statuses[:3] == [200, 200, 200] and set(statuses[3:]) == {429}
    assert len(sms.outbox) == 4
    with override_settings(LIVELIHOOD_RESIDENT_LIMITS={"checks_per_ip_minute": 3}):
        codes = [client.post(page(), {"action": "verify", "phone": "13800001111", "code": "123456"}).status_code
                 for _ in range(4)]  # fmt: skip
    assert codes[-1] == 429


def test_filing_needs_the_code_and_is_limited(db):
    client = Client()
    client.post(page(), {"action": "file", "name": "x", "address": "y", "kind": "dialysis", "detail": "z"})
    assert not Request.objects.exists()
    login(client)
    data = {"action": "file", "name": "王芳", "address": "501", "kind": "medicine", "detail": "药"}
    statuses = [client.post(page(), data).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429] and Request.objects.count() == 3
    # the session is for this page only
    assert "我的诉求" not in client.get(page("6号楼")).content.decode()


def test_qr_code_page_for_staff_of_the_community(db):
    worker = make_user("jj_grid", Role.COMMUNITY_WORKER, [JJ_COMMUNITY])
    response = logged_in(worker).get(f"/livelihood/qr/{JJ_COMMUNITY}/?building=5号楼")
    text = response.content.decode()
    assert response.status_code == 200 and "<svg" in text and "/r/" in text
    assert logged_in(worker).get("/livelihood/qr/350502001001/").status_code == 404
