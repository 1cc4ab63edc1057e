"""The tracing API: cases (filters, pages), a case with its trace clocks, its contacts, a contact's
plan, adding a contact and the trace's progress — scoped, masked, audited, refused in zh/en."""

from __future__ import annotations

import datetime as dt
import json

import pyarrow as pa
import pytest
from django.core.cache import cache
from django.test import Client

from lianfang import protocol
from lianfang.accounts.models import AuditEvent
from lianfang.accounts.roles import Role
from lianfang.accounts.services import token_issue
from lianfang.tracing import services
from lianfang.tracing.models import Contact, ContactRow, TraceTask
from tests.conftest import JINJIANG, JJ_COMMUNITY, LC_COMMUNITY, LICHENG, make_user, rid
from tests.tracing.helpers import case, tracing_world

API = "/api/v1/tracing"
JJ_CASE, JJ_CONTACT = rid(JINJIANG, "19800303", "301"), rid(JINJIANG, "19810303", "302")
LC_CASE, LC_CONTACT = rid(LICHENG, "19800404", "401"), rid(LICHENG, "19810404", "402")
NEW_CONTACT = rid(JINJIANG, "19820505", "503")


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()


@pytest.fixture
def world(db):
    tracing_world(
        "JJ",
        JJ_COMMUNITY,
        case_id=JJ_CASE,
        case_name="晋江病例",
        contact_id=JJ_CONTACT,
        contact_name="晋江密接",
        contact_phone="13800000302",
    )
    tracing_world(
        "LC",
        LC_COMMUNITY,
        case_id=LC_CASE,
        case_name="鲤城病例",
        contact_id=LC_CONTACT,
        contact_name="鲤城密接",
    )
    # A second Jinjiang case, asymptomatic, for the filters.
    services.cases_import(
        table=pa.Table.from_pylist(
            [
                case(
                    "JJ-C2",
                    id_number=rid(JINJIANG, "19830303", "303"),
                    name="晋江无症状",
                    classification="asymptomatic",
                    community_code=JJ_COMMUNITY,
                    reported_at="2022-03-22 10:00",
                )
            ]
        ),
        actor=None,
    )
    return {
        "jj_contact": Contact.objects.get(id_number=JJ_CONTACT),
        "lc_contact": Contact.objects.get(id_number=LC_CONTACT),
    }


def _client(role: str, codes=(JINJIANG,), name: str = "") -> Client:
    user = make_user(name or f"t_{role}_{'_'.join(codes)}", role, list(codes))
    _, raw = token_issue(user=user, name="script")
    return Client(headers={"authorization": f"Bearer {raw}"})


def _audits() -> int:
    return AuditEvent.objects.count()


def _bilingual(response, zh: str, en: str) -> None:
    text = json.dumps(response.json(), ensure_ascii=False)
    assert zh in text and en in text, text


# --- reads -------------------------------------------------------------------------------------


def test_cases_lists_only_the_tokens_jurisdiction_unmasked_for_a_tracer(world):
    client = _client(Role.TRACER)
    before = _audits()
    rows = client.get(f"{API}/cases").json()
    assert [r["case_code"] for r in rows] == ["JJ-C2", "JJ-C1"]  # newest report first
    first = rows[1]
    assert first["id_number"] == JJ_CASE and not first["masked"]
    assert first["classification"] == "confirmed" and first["status"] == "late"
    assert first["late"] == {"core": True, "report": True}
    assert _audits() == before + 1


def test_cases_are_masked_for_the_command_office(world):
    rows = _client(Role.COMMAND_OFFICE).get(f"{API}/cases").json()
    assert {r["case_code"] for r in rows} == {"JJ-C1", "JJ-C2"}
    assert all(r["masked"] and JJ_CASE not in r["id_number"] for r in rows)
    assert rows[1]["id_number"] == JJ_CASE[:6] + "********" + JJ_CASE[-4:]


def test_cases_filter_by_classification_and_trace_status(world):
    client = _client(Role.TRACER)

    def codes(query: str) -> list[str]:
        response = client.get(f"{API}/cases?{query}")
        assert response.status_code == 200, response.content
        return [r["case_code"] for r in response.json()]

    assert codes("classification=asymptomatic") == ["JJ-C2"]
    assert codes("classification=confirmed") == ["JJ-C1"]
    assert codes("status=late") == ["JJ-C2", "JJ-C1"]
    assert codes("status=open") == codes("status=reported") == []
    # Both clocks met: no longer late, reported.
    done = client.post(
        f"{API}/cases/JJ-C2/trace", {"core_done": True, "report_done": True}, "application/json"
    )
    assert done.status_code == 200, done.content
    assert codes("status=reported") == ["JJ-C2"]
    assert codes("status=late") == ["JJ-C1"]
    assert codes("status=reported&classification=confirmed") == []


def test_cases_are_paginated_by_limit_and_offset(world):
    client = _client(Role.TRACER)
    assert [r["case_code"] for r in client.get(f"{API}/cases?limit=1").json()] == ["JJ-C2"]
    assert [r["case_code"] for r in client.get(f"{API}/cases?limit=1&offset=1").json()] == ["JJ-C1"]
    assert client.get(f"{API}/cases?limit=1&offset=2").json() == []
    # Out-of-range numbers are clamped, not a 500.
    assert client.get(f"{API}/cases?limit=-5&offset=-3").status_code == 200
    assert client.get(f"{API}/cases?offset=99999999999999999999").json() == []


def test_a_bad_filter_answers_422_in_chinese_and_english(world):
    response = _client(Role.TRACER).get(f"{API}/cases?status=closed")
    assert response.status_code == 422
    _bilingual(response, "流调状态须为以下之一", "status must be one of")
    response = _client(Role.TRACER, name="t2").get(f"{API}/cases?classification=sick")
    assert response.status_code == 422
    _bilingual(response, "分类须为以下之一", "classification must be one of")


def test_a_case_shows_its_trace_clocks_and_contact_count(world):
    client = _client(Role.TRACER)
    before = _audits()
    body = client.get(f"{API}/cases/JJ-C1").json()
    task = TraceTask.objects.get(case__case_code="JJ-C1")
    assert body["case_code"] == "JJ-C1" and body["name"] == "晋江病例"
    assert body["contacts"] == 1 and body["conversions"] == []
    assert dt.datetime.fromisoformat(body["task"]["core_due_at"]) == task.core_due_at
    assert dt.datetime.fromisoformat(body["task"]["report_due_at"]) == task.report_due_at
    assert body["task"]["late"] == {"core": True, "report": True}
    assert _audits() == before + 1


def test_another_countys_case_is_404_like_a_missing_one(world):
    client = _client(Role.TRACER)
    before = _audits()
    for path in ("cases/LC-C1", "cases/LC-C1/contacts"):
        theirs, missing = client.get(f"{API}/{path}"), client.get(f"{API}/{path.replace('LC-C1', 'NOPE')}")
        assert theirs.status_code == missing.status_code == 404
        assert theirs.content == missing.content
        assert "鲤城" not in theirs.content.decode()
    contact = world["lc_contact"].pk
    theirs, missing = client.get(f"{API}/contacts/{contact}/plan"), client.get(f"{API}/contacts/999999/plan")
    assert theirs.status_code == missing.status_code == 404 and theirs.content == missing.content
    assert _audits() == before  # nothing shown, nothing audited


def test_a_cases_contacts_with_their_plans(world):
    tracer, office = _client(Role.TRACER), _client(Role.COMMAND_OFFICE)
    before = _audits()
    rows = tracer.get(f"{API}/cases/JJ-C1/contacts").json()
    assert [(r["id_number"], r["name"], r["phone"], r["category"]) for r in rows] == [
        (JJ_CONTACT, "晋江密接", "13800000302", "close")
    ]
    assert rows[0]["measure"] and rows[0]["ends_at"] and not rows[0]["is_case"]
    masked = office.get(f"{API}/cases/JJ-C1/contacts").json()
    assert masked[0]["phone"] == "138****0302" and masked[0]["masked"]
    assert _audits() == before + 2


def test_a_contacts_plan_is_the_protocols(world):
    contact = world["jj_contact"]
    client = _client(Role.TRACER)
    before = _audits()
    body = client.get(f"{API}/contacts/{contact.pk}/plan").json()
    expected = protocol.contact_plan(
        protocol.edition(contact.edition), "close", contact.last_exposure_at, contact.registered_at
    )
    plan = body["plan"]
    assert body["name"] == "晋江密接" and not body["is_case"]
    assert plan["edition"] == contact.edition and plan["measure"] == expected.measure
    assert dt.datetime.fromisoformat(plan["ends_at"]) == expected.ends_at
    assert dt.datetime.fromisoformat(plan["monitoring_ends_at"]) == expected.monitoring_ends_at
    assert [dt.date.fromisoformat(d) for d in plan["test_days"]] == list(expected.test_days)
    assert plan["test_days"], "a close contact's plan has test days"
    assert _audits() == before + 1


def test_a_device_role_reads_no_case(world):
    for role in (Role.SAMPLER, Role.LAB, Role.VOLUNTEER):
        client = _client(role)
        for path in (
            "cases",
            "cases/JJ-C1",
            "cases/JJ-C1/contacts",
            f"contacts/{world['jj_contact'].pk}/plan",
        ):
            response = client.get(f"{API}/{path}")
            assert response.status_code == 403, (role, path)
            assert "晋江" not in response.content.decode()


# --- writes ------------------------------------------------------------------------------------


def _contact_body(**kw) -> dict:
    body = {
        "category": "close",
        "id_number": NEW_CONTACT,
        "name": "新密接",
        "phone": "13800000503",
        "last_exposure_at": "2022-03-27T08:00",
    }
    body.update(kw)
    return body


def test_add_a_contact_through_the_form_service(world):
    response = _client(Role.TRACER).post(f"{API}/cases/JJ-C1/contacts", _contact_body(), "application/json")
    assert response.status_code == 200, response.content
    body = response.json()
    stored = Contact.objects.get(id_number=NEW_CONTACT)
    assert body["id"] == stored.pk and body["case_code"] == "JJ-C1" and body["measure"]
    row = ContactRow.objects.get(id_number=NEW_CONTACT)
    assert row.source == "form" and row.last_exposure_at == dt.datetime(2022, 3, 27, 0, 0, tzinfo=dt.UTC)
    assert AuditEvent.objects.filter(action="import", object_type="contacts", object_id="form").exists()


@pytest.mark.parametrize(
    ("body", "zh", "en"),
    [
        (_contact_body(category="friend"), "接触类别须为", "category must be"),
        (_contact_body(category="secondary"), "次密接须填写", "a secondary contact needs"),
        (_contact_body(id_number="350582198001011230"), "证件号码", "ID number"),
        (_contact_body(last_exposure_at="yesterday"), "时间", "time"),
    ],
)
def test_a_refused_contact_answers_400_in_chinese_and_english(world, body, zh, en):
    response = _client(Role.TRACER).post(f"{API}/cases/JJ-C1/contacts", body, "application/json")
    assert response.status_code == 400, response.content
    _bilingual(response, zh, en)
    assert not Contact.objects.filter(id_number=body["id_number"]).exists()


def test_schema_violations_answer_422(world):
    client = _client(Role.TRACER)
    no_name = {k: v for k, v in _contact_body().items() if k != "name"}
    assert client.post(f"{API}/cases/JJ-C1/contacts", no_name, "application/json").status_code == 422
    nul = client.post(f"{API}/cases/JJ-C1/trace", {"team": "a\x00b"}, "application/json")
    assert nul.status_code == 422
    _bilingual(nul, "控制字符", "control character")


def test_writes_to_another_county_are_404_and_change_nothing(world):
    client = _client(Role.TRACER)
    response = client.post(f"{API}/cases/LC-C1/contacts", _contact_body(), "application/json")
    assert response.status_code == 404
    assert not Contact.objects.filter(id_number=NEW_CONTACT).exists()
    response = client.post(
        f"{API}/cases/LC-C1/trace", {"team": "晋江组", "core_done": True}, "application/json"
    )
    assert response.status_code == 404
    task = TraceTask.objects.get(case__case_code="LC-C1")
    assert task.team == "" and task.core_done_at is None


def test_a_role_without_the_verb_is_403(world):
    # A grid worker reads people but neither adds contacts nor updates traces.
    client = _client(Role.COMMUNITY_WORKER)
    response = client.post(f"{API}/cases/JJ-C1/contacts", _contact_body(), "application/json")
    assert response.status_code == 403
    _bilingual(response, "您的角色无权执行此操作", "your role may not do this")
    assert client.post(f"{API}/cases/JJ-C1/trace", {"team": "x"}, "application/json").status_code == 403
    assert not Contact.objects.filter(id_number=NEW_CONTACT).exists()


def test_trace_progress_through_the_service(world):
    client = _client(Role.TRACER)
    response = client.post(
        f"{API}/cases/JJ-C1/trace",
        {"team": "晋江一组", "places": "超市", "core_done": True},
        "application/json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["team"] == "晋江一组" and body["core_done_at"] and body["report_done_at"] is None
    assert body["late"] == {"core": False, "report": True}
    assert AuditEvent.objects.filter(object_type="trace_task", object_id="JJ-C1", action="update").exists()
    # An isolation time before the exposure window: the service's refusal, in both languages.
    early = client.post(
        f"{API}/cases/JJ-C1/trace", {"exposure_to": "2020-01-01T00:00:00+08:00"}, "application/json"
    )
    assert early.status_code == 400
    _bilingual(early, "隔离时间早于暴露期起点", "the isolation time is before the exposure window starts")
