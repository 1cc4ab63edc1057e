"""Pages: masking per role, audit of every access, bounded queries, login throttling, uploads."""

from __future__ import annotations

import io

import pytest
from django.test import Client
from django.urls import reverse

from lianfang.accounts.models import AuditEvent
from lianfang.imports.models import ImportJob
from lianfang.people.models import Person
from tests.conftest import JJ_COMMUNITY, PASSWORD, logged_in, make_person, rid

PID = rid("350582", "19800101", "123")


@pytest.fixture
def person(db):
    return make_person(
        id_number=PID, name="陈建国", phone="13805951234", address="桂香花园3栋501", tags="bedridden"
    )


def test_person_page_masked_for_office_full_for_tracer(person, county_user, county_tracer):
    masked = logged_in(county_user).get(f"/people/{person.pk}/").content.decode()
    assert f"{PID[:6]}********{PID[-4:]}" in masked and PID not in masked
    assert "138****1234" in masked and "13805951234" not in masked
    assert "桂香花园****" in masked and "3栋501" not in masked
    full = logged_in(county_tracer).get(f"/people/{person.pk}/").content.decode()
    assert PID in full and "13805951234" in full and "桂香花园3栋501" in full


def test_every_view_of_a_person_is_audited(person, county_user):
    client = logged_in(county_user)
    client.get(f"/people/{person.pk}/")
    client.get("/people/?q=chenjianguo")
    client.get(f"/divisions/{JJ_COMMUNITY}/")
    events = list(AuditEvent.objects.filter(user=county_user).values_list("action", "object_type"))
    assert ("view", "person") in events and ("search", "person") in events
    assert ("view", "community_people") in events
    view = AuditEvent.objects.filter(user=county_user, action="view", object_type="person").get()
    assert view.object_id == str(person.pk) and view.ip == "127.0.0.1"


def test_audit_log_is_append_only_and_for_auditors(person, county_user, auditor):
    logged_in(county_user).get(f"/people/{person.pk}/")
    event = AuditEvent.objects.filter(action="view").first()
    with pytest.raises(PermissionError):
        event.save()
    with pytest.raises(PermissionError):
        event.delete()
    with pytest.raises(PermissionError):
        AuditEvent.objects.all().delete()
    with pytest.raises(PermissionError):
        AuditEvent.objects.filter(pk=event.pk).update(action="login")
    assert logged_in(county_user).get("/audit/").status_code == 404
    page = logged_in(auditor).get("/audit/?action=view").content.decode()
    assert "jj_office" in page


@pytest.mark.parametrize(
    "q", ["陈建国", "陈", "chenjianguo", "cjg", "chen", PID, PID[-4:], PID[-6:], "13805951234", "1234"]
)
def test_search_finds_by_every_key(person, county_user, q):
    page = logged_in(county_user).get("/people/", {"q": q}).content.decode()
    assert f"/people/{person.pk}/" in page, q


def test_search_htmx_returns_partial(person, county_user):
    response = logged_in(county_user).get("/people/", {"q": "cjg"}, HTTP_HX_REQUEST="true")
    assert "<html" not in response.content.decode() and "陈建国" in response.content.decode()


def test_pages_run_a_bounded_number_of_queries(db, county_user, django_assert_max_num_queries):
    for i in range(30):
        make_person(id_number=rid("350582", "19900101", f"{i:03d}"), name=f"测试{i}")
    client = logged_in(county_user)
    first = Person.objects.filter(community_id=JJ_COMMUNITY).first()
    pages = [
        "/",
        "/divisions/",
        "/divisions/350582/",
        "/divisions/350582001/",
        f"/divisions/{JJ_COMMUNITY}/",
        "/people/?q=cs",
        f"/people/{first.pk}/",
        "/people/import/",
    ]
    # The home page adds its "act now" sections: open rounds, each one's unsigned alerts, overdue
    # re-check counts, the user's recent imports, the user's working groups (none here).
    # The person page: each app's panel (screening, tracing, custody, zones, livelihood) reads its
    # own rows, at most two queries each, whatever the person has.
    from lianfang.core.plugins import person_panels

    bounds = {"/": 16, f"/people/{first.pk}/": 6 + 2 * len(person_panels())}
    for url in pages:
        with django_assert_max_num_queries(bounds.get(url, 12)):
            assert client.get(url).status_code == 200, url


def test_home_counts_only_own_jurisdiction(db, county_user, city_user):
    make_person(id_number=rid("350582", "19900101", "001"), name="晋江甲")
    make_person(id_number=rid("350502", "19900101", "001"), name="鲤城乙", community_code="350502001001")
    jj = logged_in(county_user).get("/").content.decode()
    city = logged_in(city_user).get("/").content.decode()
    assert 'id="total-registered">1<' in jj
    assert 'id="total-registered">2<' in city


def test_export_masked_and_audited(person, county_user):
    response = logged_in(county_user).get(f"/divisions/{JJ_COMMUNITY}/export.csv")
    text = response.content.decode("utf-8-sig")
    assert text.splitlines()[0] == "community_code,id_type,id_number,name,phone,address,tags"
    assert f"{PID[:6]}********{PID[-4:]}" in text and PID not in text
    assert AuditEvent.objects.filter(action="export", object_id=JJ_COMMUNITY).exists()
    xlsx = logged_in(county_user).get(f"/divisions/{JJ_COMMUNITY[:9]}/export.xlsx")
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    assert logged_in(county_user).get("/divisions/350582/export.csv").status_code == 404  # county: too big


def test_login_throttled_after_failures(db, county_user, settings):
    settings.AXES_FAILURE_LIMIT = 3
    client = Client()
    for _ in range(3):
        response = client.post("/login/", {"username": "jj_office", "password": "wrong"})
        assert response.status_code in (200, 429)
    response = client.post("/login/", {"username": "jj_office", "password": PASSWORD})
    assert response.status_code == 429 and "_auth_user_id" not in client.session
    assert "登录失败次数过多" in response.content.decode()
    # Every attempt is audited, the refused right password too.
    assert AuditEvent.objects.filter(action="login_failed", object_id="jj_office").count() == 4


def test_login_works_and_is_audited(db, county_user):
    client = Client()
    response = client.post(
        "/login/", {"username": "jj_office", "password": PASSWORD, "next": "//evil.example"}
    )
    assert response.status_code == 302 and response["Location"] == "/"
    assert AuditEvent.objects.filter(action="login", user=county_user).exists()


def test_english_switch(db, county_user):
    client = logged_in(county_user)
    client.post(reverse("web:set_language"), {"language": "en", "next": "/"})
    page = client.get("/").content.decode()
    assert "Registered population" in page


def upload(client, name, data):
    f = io.BytesIO(data)
    f.name = name
    return client.post("/people/import/", {"file": f})


def test_web_upload_runs_as_task_with_summary(db, county_user, django_capture_on_commit_callbacks):
    client = logged_in(county_user)
    body = (
        f"id_number,name,community_code\n{PID},陈建国,{JJ_COMMUNITY}\n{PID[:-1]}0,坏号,{JJ_COMMUNITY}\n"
    ).encode("utf-8-sig")
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(client, "persons.csv", body)
    assert response.status_code == 302
    job = ImportJob.objects.get()
    assert job.status == "done", job.error
    assert job.summary["read"] == 2 and job.summary["accepted"] == 1
    assert job.summary["reasons"] == {"invalid_id_number": 1}
    page = client.get(f"/imports/{job.pk}/").content.decode()
    assert "invalid_id_number" in page
    rejects = client.get(f"/imports/{job.pk}/rejects.csv")
    import csv

    rows = list(csv.reader(b"".join(rejects.streaming_content).decode("utf-8-sig").splitlines()))
    assert rows[0][-1] == "reason" and rows[1][-1] == "invalid_id_number" and rows[1][1] == "坏号"


def test_web_upload_bad_files_get_clear_messages(db, county_user, django_capture_on_commit_callbacks):
    client = logged_in(county_user)
    response = upload(client, "persons.doc", b"whatever")
    assert response.status_code == 400 and "不支持的文件格式" in response.content.decode()
    assert client.post("/people/import/", {}).status_code == 400
    with django_capture_on_commit_callbacks(execute=True):
        upload(client, "gbk.csv", "id_number,name,community_code\n1,张三,2\n".encode("gbk"))
    job = ImportJob.objects.get()
    assert job.status == "failed" and "UTF-8" in job.error


def test_upload_refused_for_roles_that_do_not_edit_registry(db):
    from tests.conftest import make_user

    volunteer = make_user("vol", "volunteer", [JJ_COMMUNITY])
    assert logged_in(volunteer).get("/people/import/").status_code == 404
