"""A NUL byte or a value longer than its field is a 400/422 with a bilingual message, never a 500
(PostgreSQL refuses both; issue 10, item 4); a device batch rejects just the broken row."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from lianfang.accounts.roles import Role
from lianfang.screening.models import Round, Tube
from tests.api.test_screening_api import T, _client, _setup
from tests.conftest import JINJIANG, JJ_COMMUNITY, PASSWORD, logged_in, make_user, rid

NUL = "a\x00b"


@pytest.fixture
def office(db):
    return make_user("office1", Role.COMMAND_OFFICE, [JINJIANG])


def _bilingual(response) -> str:
    text = response.content.decode()
    assert "控制字符" in text or "字符" in text, text
    return text


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/persons?q=a%00b",
        "/api/v1/persons/lookup?id_number=1%00",
        "/api/v1/divisions?parent=35%00",
        "/api/v1/divisions/35%0005",
        "/api/v1/screening/tasks?round_code=R%001",
    ],
)
def test_a_nul_in_a_query_or_path_is_400(office, url):
    response = _client(office).get(url)
    assert response.status_code == 400
    assert "NUL" in response.json()["detail"] and "控制字符" in response.json()["detail"]


@pytest.mark.parametrize(
    ("url", "field"),
    [
        (f"/api/v1/persons/lookup?id_number={'1' * 33}", "32"),
        (f"/api/v1/divisions/{'3' * 13}", "12"),
        ("/api/v1/persons?q=%01x", "NUL"),
    ],
)
def test_an_over_long_or_control_parameter_is_422_with_a_message(office, url, field):
    response = _client(office).get(url)
    assert response.status_code in (400, 422), response.content
    assert field in response.content.decode()


def test_json_fields_with_nul_or_over_long_values_are_422(office):
    client = _client(office)
    cases = [
        ("/api/v1/screening/rounds", {"code": NUL, "scope": [JINJIANG]}),
        ("/api/v1/screening/rounds", {"code": "R9", "name": "长" * 101, "scope": [JINJIANG]}),
        ("/api/v1/screening/rounds", {"code": "R9", "scope": ["35\x0005"]}),
        ("/api/v1/screening/boxes", {"box_code": "B1", "round_code": "R1", "tubes": [NUL]}),
        ("/api/v1/screening/boxes", {"box_code": "B" * 65, "round_code": "R1", "tubes": ["T1"]}),
    ]
    for url, body in cases:
        response = client.post(url, body, content_type="application/json")
        assert response.status_code == 422, (url, body, response.content)
        text = json.dumps(response.json(), ensure_ascii=False)
        assert ("控制字符" in text and "control characters" in text) or (
            "长度超过" in text and "longer than" in text
        )
    assert not Round.objects.filter(code="R9").exists()


def test_a_device_batch_rejects_only_the_broken_row(db):
    site, _ = _setup()
    sampler = make_user("desk1", Role.SAMPLER, [JINJIANG])
    rows = [
        {
            "round_code": "R1",
            "tube_barcode": "T1",
            "pool_size": 5,
            "id_number": i,
            "collected_at": T,
            "name": name,
        }
        for i, name in [
            (rid("350582", "19800101", "001"), "张伟"),
            (rid("350582", "19800101", "002"), NUL),
            (rid("350582", "19800101", "003"), "长" * 65),
        ]
    ]
    response = _client(sampler, site=site).post(
        "/api/v1/screening/samples", {"rows": rows}, content_type="application/json"
    )
    assert response.status_code == 200, response.content
    out = response.json()
    assert [r["outcome"] for r in out["rows"]] == ["accepted", "bad_characters:name", "too_long:name"]
    assert "NUL" in out["rows"][1]["message"] and "控制字符" in out["rows"][1]["message"]
    assert (out["read"], out["accepted"], out["rejected"]) == (3, 1, 2)
    assert Tube.objects.get(barcode="T1").samples.count() == 1


def test_web_forms_and_pages_answer_400_to_a_nul(db):
    user = make_user("grid", Role.COMMUNITY_WORKER, [JJ_COMMUNITY])
    response = Client().post("/login/", {"username": NUL, "password": PASSWORD})
    assert response.status_code == 400
    _bilingual(response)
    assert logged_in(user).get("/people/", {"q": NUL}).status_code == 400
    assert logged_in(user).get("/people/", {"q": "张"}).status_code == 200


def test_a_time_before_year_one_in_utc_is_bad_time_not_an_overflow(db):
    site, _ = _setup()
    sampler = make_user("desk1", Role.SAMPLER, [JINJIANG])
    body = {
        "round_code": "R1",
        "tube_barcode": "T1",
        "pool_size": 5,
        "id_number": rid("350582", "19800101", "001"),
        "collected_at": "0001-01-01 00:00",  # Shanghai time: before 0001-01-01 in UTC
    }
    response = _client(sampler, site=site).post(
        "/api/v1/screening/scans", body, content_type="application/json"
    )
    assert response.status_code == 200
    assert [r["outcome"] for r in response.json()["rows"]] == ["bad_time"]


def test_the_web_round_form_refuses_an_over_long_name_with_a_message(db):
    from lianfang.screening.services import ScreeningError, round_open

    with pytest.raises(ScreeningError) as info:
        round_open(actor=None, code="R9", name="长" * 101, scope=[JINJIANG], starts_at=None)
    assert "100" in str(info.value) and "轮次名称" in str(info.value)
    assert not Round.objects.filter(code="R9").exists()
