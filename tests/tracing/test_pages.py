"""The tracing pages: forms call the services, uploads run as import jobs, late clocks show red."""

from __future__ import annotations

import pyarrow as pa
from django.core.files.uploadedfile import SimpleUploadedFile

from lianfang.accounts.roles import Role
from lianfang.imports.models import ImportJob
from lianfang.tracing import services
from lianfang.tracing.models import Case, Contact
from tests.conftest import JINJIANG, logged_in, make_user
from tests.tracing.helpers import CASE_HEADER, P1, case, contact


def test_tracer_adds_a_contact_on_the_trace_page_and_sees_the_plan(db):
    services.cases_import(table=pa.Table.from_pylist([case("C1")]), actor=None)
    client = logged_in(make_user("jj_tr", Role.TRACER, [JINJIANG]))
    page = client.get("/tracing/cases/C1/trace/")
    text = page.content.decode()
    # a 2022 case: both clocks are long past and shown late
    assert page.status_code == 200 and text.count('class="late"') >= 2
    r = client.post(
        "/tracing/cases/C1/trace/",
        {
            "action": "contact",
            "category": "close",
            "id_number": P1,
            "name": "密接甲",
            "last_exposure_at": "2022-03-20T18:00",
        },
    )
    assert r.status_code == 302, r.content[:500]
    assert Contact.objects.get(id_number=P1).category == "close"
    text = client.get("/tracing/cases/C1/trace/").content.decode()
    assert "密接甲" in text and "集中隔离医学观察" in text and P1 in text  # a tracer sees the full ID
    bad = client.post(
        "/tracing/cases/C1/trace/",
        {
            "action": "contact",
            "category": "朋友",
            "id_number": P1,
            "name": "x",
            "last_exposure_at": "2022-03-20T18:00",
        },
    )
    assert bad.status_code == 400 and "category must be" in bad.content.decode()
    # marking the core trace done stops its clock from showing late
    client.post("/tracing/cases/C1/trace/", {"action": "update", "core_done": "1", "team": "晋江一组"})
    text = client.get("/tracing/cases/C1/trace/").content.decode()
    assert "晋江一组" in text and text.count('class="late"') == 2  # the report clock only (dd + span)


def test_masked_role_sees_masked_ids(db):
    services.cases_import(table=pa.Table.from_pylist([case("C1")]), actor=None)
    client = logged_in(make_user("jj_of", Role.COMMAND_OFFICE, [JINJIANG]))
    text = client.get("/tracing/cases/").content.decode()
    assert "C1" in text and case()["id_number"] not in text and case()["id_number"][:6] + "********" in text


def test_cases_upload_runs_as_an_import_job(db, django_capture_on_commit_callbacks):
    import csv
    import io

    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CASE_HEADER)
    writer.writeheader()
    writer.writerows([case("C1"), case("C2", name="")])
    client = logged_in(make_user("jj_wg", Role.WORKING_GROUP, [JINJIANG]))
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post(
            "/tracing/cases/",
            {"action": "upload", "file": SimpleUploadedFile("cases.csv", buf.getvalue().encode())},
        )
    assert r.status_code == 302
    job = ImportJob.objects.get(kind="cases")
    assert (
        job.status == "done"
        and job.summary["accepted"] == 1
        and job.summary["reasons"] == {"missing_field:name": 1}
    )
    assert Case.objects.filter(case_code="C1").exists()


def test_a_case_by_hand_and_the_nav_entry(db):
    client = logged_in(make_user("jj_wg2", Role.WORKING_GROUP, [JINJIANG]))
    assert "/tracing/cases/" in client.get("/").content.decode()
    r = client.post(
        "/tracing/cases/",
        {
            "case_code": "H1",
            "id_number": P1,
            "name": "手录",
            "classification": "confirmed",
            "found_in": "clinic",
            "first_positive_sampled_at": "2022-03-28T08:00",
            "reported_at": "2022-03-28T10:00",
            "community_code": "350582001004",
        },
    )
    assert r.status_code == 302 and Case.objects.get(case_code="H1").source == "form"
    again = client.post(
        "/tracing/cases/", {"case_code": "H1", "id_number": P1, "name": "x", "classification": "x"}
    )
    assert again.status_code == 400


def test_pages_switch_to_english(db):
    services.cases_import(table=pa.Table.from_pylist([case("C1")]), actor=None)
    client = logged_in(make_user("jj_en", Role.TRACER, [JINJIANG]))
    client.post("/lang/", {"language": "en", "next": "/"})
    text = client.get("/tracing/cases/C1/trace/").content.decode()
    assert "Trace task" in text and "Core trace due" in text and "核心信息时限" not in text
    assert "Tracing" in client.get("/").content.decode()


def test_person_page_shows_the_persons_case_and_plan(db):
    from tests.conftest import make_person

    person = make_person(id_number=P1, name="两重身份")
    services.cases_import(table=pa.Table.from_pylist([case("C1")]), actor=None)
    services.contacts_import(table=pa.Table.from_pylist([contact(P1)]), actor=None)
    client = logged_in(make_user("jj_tr9", Role.TRACER, [JINJIANG]))
    text = client.get(f"/people/{person.pk}/").content.decode()
    assert 'id="plans"' in text and "集中隔离医学观察" in text and "2022-03-20 18:00" in text
    services.cases_import(table=pa.Table.from_pylist([case("C2", id_number=P1)]), actor=None)
    text = client.get(f"/people/{person.pk}/").content.decode()
    assert 'id="person-cases"' in text and "C2" in text and "本人已是病例" in text


def test_chains_graph_links_case_to_contact_to_case_within_the_jurisdiction(db):
    import json
    import re

    from tests.conftest import LC_COMMUNITY
    from tests.tracing.helpers import CASE_A, P2, P3

    services.cases_import(
        table=pa.Table.from_pylist(
            [case("C1"), case("C2", id_number=P1), case("L1", id_number=P3, community_code=LC_COMMUNITY)]
        ),
        actor=None,
    )
    services.contacts_import(
        table=pa.Table.from_pylist(
            [contact(P1), contact(P2, case_code="C2", category="secondary", via_id_number=CASE_A),
             contact(P2, case_code="L1", community_code=LC_COMMUNITY)]
        ),
        actor=None,
    )  # fmt: skip
    client = logged_in(make_user("jj_ch", Role.COMMAND_OFFICE, [JINJIANG]))
    text = client.get("/tracing/chains/").content.decode()
    graph = json.loads(
        re.search(r'<script id="chain-data" type="application/json">(.*?)</script>', text, re.S)[1]
    )
    nodes = {n["id"]: n for n in graph["nodes"]}
    assert set(nodes) == {CASE_A, P1, P2}  # Licheng's case stays out
    assert nodes[P1]["url"] == "/tracing/cases/C2/" and nodes[P2]["category"] == "secondary"
    assert sorted((link["source"], link["target"]) for link in graph["links"]) == sorted(
        [(CASE_A, P1), (P1, P2)]
    )
    assert 'src="/static/lianfang/tracing.js"' in text and "<script>" not in text  # CSP: no inline script
