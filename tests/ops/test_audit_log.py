"""The audit log reads like a record: names and links masked per the auditor's role, details as
fields, filters by user, person, action and date, an inert export, and reading it is audited."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.utils import timezone

from lianfang.accounts.models import AuditEvent
from lianfang.accounts.roles import Role
from tests.conftest import LICHENG, logged_in, make_person, make_user, rid

PID = rid("350582", "19800101", "123")


@pytest.fixture
def person(db):
    return make_person(id_number=PID, name="陈建国", phone="13805951234")


@pytest.fixture
def trail(person, county_user, county_tracer):
    """A view by the office, a search, an import with reasons."""
    office = logged_in(county_user)
    office.get(f"/people/{person.pk}/")
    logged_in(county_tracer).get("/people/?q=陈建国")
    from lianfang.accounts.services import audit_record
    from tests.conftest import actor

    audit_record(
        actor=actor(county_user),
        action="import",
        object_type="persons",
        object_id="=cmd|'/c calc'!A1.csv",
        detail={"read": 3, "accepted": 1, "rejected": 2, "reasons": {"invalid_id_number": 2}, "masked": True},
    )
    return person


def _page(client, query=""):
    answer = client.get(f"/audit/{query}")
    return answer, answer.content.decode()


def test_who_did_what_to_whom_masked_for_the_auditor(trail, auditor):
    answer, page = _page(logged_in(auditor))
    assert answer.status_code == 200
    assert "jj_office" in page and "指挥部办公室" in page  # who: name, login and role
    assert f"陈建国（{PID[:6]}********{PID[-4:]}）" in page and PID not in page  # whom, masked
    assert f'href="/people/{trail.pk}/"' in page  # linked to the person's page
    assert "证件号码无效" in page and "× 2" in page  # the import's reasons in words
    assert "{" not in page.split('id="audit-table"')[1]  # no dict text
    assert "已脱敏" in page and "是" in page


def test_filters_by_user_person_action_and_date(trail, auditor, county_user, county_tracer):
    client = logged_in(auditor)
    _, by_user = _page(client, "?user=jj_tracer")
    assert "jj_tracer" in by_user and "陈建国（" not in by_user
    _, by_person = _page(client, f"?person={PID.lower()}")
    assert "陈建国（" in by_person and "jj_tracer" not in by_person
    _, by_action = _page(client, "?action=search")
    assert "jj_tracer" in by_action and "陈建国（" not in by_action
    tomorrow = (timezone.localdate() + dt.timedelta(days=1)).isoformat()
    _, future = _page(client, f"?since={tomorrow}")
    assert "jj_office" not in future.split('id="audit-table"')[1]
    today = timezone.localdate().isoformat()
    _, today_page = _page(client, f"?since={today}&until={today}")
    assert "jj_tracer" in today_page


def test_bad_filters_are_explained_not_dropped(auditor):
    answer, page = _page(logged_in(auditor), "?since=2022-13-01&action=nuke")
    assert answer.status_code == 400
    assert "2022-13-01" in page and "年-月-日" in page and "nuke" in page


def test_a_person_outside_the_auditors_jurisdiction_is_not_named(trail, db):
    licheng_auditor = make_user("lc_auditor", Role.AUDITOR, [LICHENG])
    _, page = _page(logged_in(licheng_auditor))
    assert "陈建国" not in page


def test_reading_and_exporting_are_audited_and_the_export_is_inert(trail, auditor):
    client = logged_in(auditor)
    _page(client, "?action=import&user=jj_office")
    assert AuditEvent.objects.filter(user=auditor, action="view", object_type="audit_log").count() == 1
    answer = client.get("/audit/export.csv?action=import&user=jj_office")
    assert answer.status_code == 200
    rows = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))
    assert rows[0][0] == "时间" and len(rows) == 2
    assert rows[1][8].startswith("'=cmd")  # a formula-like file name stays text
    assert "证件号码无效" in rows[1][9]
    export = AuditEvent.objects.get(user=auditor, action="export", object_type="audit_log")
    assert export.detail["rows"] == 1 and export.detail["filters"] == {
        "action": "import",
        "user": "jj_office",
    }
    xlsx = client.get("/audit/export.xlsx")
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"


def test_only_auditors_read_or_export(trail, county_user):
    client = logged_in(county_user)
    assert client.get("/audit/").status_code == 404
    assert client.get("/audit/export.csv").status_code == 404


def test_export_over_the_limit_is_refused_with_a_reason(trail, auditor, monkeypatch):
    monkeypatch.setattr("lianfang.web.audit.EXPORT_LIMIT", 1)
    answer = logged_in(auditor).get("/audit/export.csv")
    assert answer.status_code == 400 and "缩小日期范围" in answer.content.decode()


def test_audit_page_queries_are_bounded(trail, auditor, django_assert_max_num_queries):
    client = logged_in(auditor)
    with django_assert_max_num_queries(14):
        client.get("/audit/")
