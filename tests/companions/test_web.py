"""Companions from the web: a pings upload runs in the background with progress, its rows are
reviewed (scoped, masked, audited) and confirmed in bulk into contacts of category ``companion``."""

from __future__ import annotations

import pyarrow as pa
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from lianfang.accounts.models import AuditEvent
from lianfang.accounts.roles import Role
from lianfang.companions import services
from lianfang.companions.models import CompanionMatch, CompanionRun
from lianfang.core.errors import Refused
from lianfang.core.plugins import provider
from lianfang.tracing import services as tracing
from lianfang.tracing.models import Contact, ContactRow
from tests.companions.helpers import companion_run, pings_csv
from tests.conftest import (
    JINJIANG,
    LC_COMMUNITY,
    LICHENG,
    actor,
    apps_left_out,
    logged_in,
    make_person,
    make_user,
    rid,
)
from tests.tracing.helpers import CASE_A, P1, P2, case, contact

LC_PERSON = rid(LICHENG, "19880808", "061")
PHONE_P2 = "13800000002"
UNKNOWN_PHONE = "13700000003"


@pytest.fixture
def scene(db):
    """Jinjiang's case C1 (CASE_A) and its companions in the pings: P1 by ID (40 min), P2 by
    phone (30 min), a phone nobody in the registry holds (20 min), a Licheng resident (60 min),
    and a 5-minute stay that does not count."""
    tracing.cases_import(table=pa.Table.from_pylist([case("C1")]), actor=None)
    make_person(id_number=P1, name="伴随甲")
    make_person(id_number=P2, name="伴随乙", phone=PHONE_P2)
    make_person(id_number=LC_PERSON, name="鲤城伴随", community_code=LC_COMMUNITY)
    companions = {
        P1: ("2022-03-20 08:10", "2022-03-20 08:50"),
        PHONE_P2: ("2022-03-20 08:30", "2022-03-20 09:30"),
        UNKNOWN_PHONE: ("2022-03-20 08:00", "2022-03-20 08:20"),
        LC_PERSON: ("2022-03-20 07:00", "2022-03-20 10:00"),
        "13700000004": ("2022-03-20 08:55", "2022-03-20 09:05"),
    }
    tracer = make_user("jj_tracer", Role.TRACER, [JINJIANG])
    return {"tracer": tracer, "pings": pings_csv(CASE_A, companions)}


def _upload(client, content: bytes, name="pings.csv", cases="", capture=None):
    with capture(execute=True):
        return client.post("/companions/", {"file": SimpleUploadedFile(name, content), "cases": cases})


def test_a_run_end_to_end_from_the_page(scene, django_capture_on_commit_callbacks):
    client = logged_in(scene["tracer"])
    r = _upload(client, scene["pings"], cases="C1", capture=django_capture_on_commit_callbacks)
    assert r.status_code == 302, r.content[:300]
    run = CompanionRun.objects.get()
    assert r["Location"] == f"/companions/runs/{run.pk}/"
    assert (run.status, run.percent, run.cases, run.overlaps, run.matches) == ("done", 100, 1, 4, 4)
    page = client.get(r["Location"]).content.decode()
    assert 'data-status="done"' in page and "100%" in page and f"?run={run.pk}" in page
    rows = {m.person_key: m for m in CompanionMatch.objects.all()}
    assert set(rows) == {P1, PHONE_P2, UNKNOWN_PHONE, LC_PERSON}
    assert str(rows[P1].minutes) == "40.0" and rows[P1].name == "伴随甲" and rows[P1].key_kind == "id_number"
    assert rows[PHONE_P2].id_number == P2 and rows[PHONE_P2].key_kind == "phone"
    assert rows[UNKNOWN_PHONE].person is None and rows[UNKNOWN_PHONE].name == ""
    assert rows[LC_PERSON].county_code == LICHENG and rows[LC_PERSON].case_county_code == JINJIANG
    # the review list, unmasked for a tracer, every row pending
    text = client.get(f"/companions/review/?run={run.pk}").content.decode()
    assert all(k in text for k in (P1, PHONE_P2, "伴随乙", "不在底数中")) and 'id="confirm"' in text


def test_progress_is_shown_while_queued_and_a_missing_worker_is_named(scene, settings):
    user = scene["tracer"]
    run = services.companions_run_create(
        actor=actor(user), uploaded_file=SimpleUploadedFile("p.csv", scene["pings"]), case_codes=[]
    )  # no on_commit executed: queued
    client = logged_in(user)
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.backend.DatabaseBackend"}}
    page = client.get(f"/companions/runs/{run.pk}/", headers={"HX-Request": "true"}).content.decode()
    assert 'data-status="queued"' in page and 'hx-trigger="every 1s"' in page and "worker-missing" in page
    CompanionRun.objects.filter(pk=run.pk).update(status="running", percent=70)
    page = client.get(f"/companions/runs/{run.pk}/", headers={"HX-Request": "true"}).content.decode()
    assert 'data-width="70"' in page and "worker-missing" not in page


@pytest.mark.parametrize(
    ("content", "name", "expected"),
    [
        (
            b"person_key,cell_id,start,end\n13800000001,c1,2022-03-20 08:00,yesterday\n",
            "p.csv",
            "is not a time",
        ),
        (b"person_key,cell_id,start\n1,c1,2022-03-20 08:00\n", "p.csv", "end"),
        (b"PAR1 not really parquet", "p.parquet", "Parquet"),
    ],
)
def test_a_bad_file_fails_the_run_with_a_clear_message(
    scene, django_capture_on_commit_callbacks, content, name, expected
):
    client = logged_in(scene["tracer"])
    r = _upload(client, content, name=name, capture=django_capture_on_commit_callbacks)
    run = CompanionRun.objects.get()
    assert run.status == "failed" and expected.lower() in run.error.lower(), run.error
    assert not CompanionMatch.objects.exists()
    page = client.get(r["Location"]).content.decode()
    assert 'data-status="failed"' in page and 'id="run-error"' in page


def test_bad_uploads_and_unknown_cases_are_refused_in_both_languages(scene):
    client = logged_in(scene["tracer"])
    r = client.post("/companions/", {"cases": ""})
    assert r.status_code == 400 and "请选择信令文件" in r.content.decode()
    r = client.post("/companions/", {"file": SimpleUploadedFile("p.pdf", b"x")})
    assert r.status_code == 400 and "p.pdf" in r.content.decode()
    r = client.post("/companions/", {"file": SimpleUploadedFile("p.csv", scene["pings"]), "cases": "C1,NOPE"})
    assert r.status_code == 400 and "NOPE" in r.content.decode() and "No such cases" in r.content.decode()
    assert not CompanionRun.objects.exists()


def test_another_countys_user_sees_nothing_and_confirms_nothing(scene):
    run = companion_run(scene["tracer"], CASE_A, {P1: ("2022-03-20 08:10", "2022-03-20 08:50")})
    lc = make_user("lc_tracer", Role.TRACER, [LICHENG])
    client = logged_in(lc)
    assert client.get(f"/companions/runs/{run.pk}/").status_code == 404  # another's run
    text = client.get("/companions/review/?status=all").content.decode()
    assert P1 not in text and "伴随甲" not in text and "C1" not in text
    match = CompanionMatch.objects.get()
    r = client.post("/companions/review/", {"action": "confirm", "row": [match.pk]})
    assert r.status_code == 302
    match.refresh_from_db()
    assert match.status == "pending" and not Contact.objects.exists()
    with pytest.raises(Refused):  # a role without the verb
        services.companions_confirm(actor=actor(make_user("jj_s", Role.SAMPLER, [JINJIANG])), ids=[match.pk])
    assert (
        logged_in(make_user("jj_s2", Role.SAMPLER, [JINJIANG])).get("/companions/review/").status_code == 404
    )


def test_a_row_seen_through_its_person_is_not_confirmed_by_the_persons_county(scene):
    """Licheng sees its resident beside Jinjiang's case, but the case's jurisdiction decides."""
    companion_run(scene["tracer"], CASE_A, {LC_PERSON: ("2022-03-20 07:00", "2022-03-20 10:00")})
    lc = make_user("lc_tracer", Role.TRACER, [LICHENG])
    client = logged_in(lc)
    text = client.get("/companions/review/").content.decode()
    assert LC_PERSON in text and 'name="row"' not in text  # shown, no checkbox
    match = CompanionMatch.objects.get()
    decided = services.companions_confirm(actor=actor(lc), ids=[match.pk])
    assert decided.refused == {"not_yours": 1} and decided.confirmed == 0
    assert services.companions_dismiss(actor=actor(lc), ids=[match.pk]) == 0
    match.refresh_from_db()
    assert match.status == "pending" and not Contact.objects.exists()


def test_a_masked_role_sees_keys_masked_and_each_view_is_audited(scene):
    companion_run(scene["tracer"], CASE_A, {PHONE_P2: ("2022-03-20 08:30", "2022-03-20 09:30")})
    office = make_user("jj_office2", Role.COMMAND_OFFICE, [JINJIANG])
    client = logged_in(office)
    before = AuditEvent.objects.count()
    text = client.get("/companions/review/").content.decode()
    assert "伴随乙" in text and PHONE_P2 not in text and "138****0002" in text and P2 not in text
    assert P2[:6] + "********" + P2[-4:] in text
    events = list(AuditEvent.objects.order_by("id")[before:])
    assert [(e.action, e.object_type, e.detail["masked"], e.detail["count"]) for e in events] == [
        ("view", "companions", True, 1)
    ]


def test_bulk_confirm_creates_contacts_with_plans_and_is_idempotent(
    scene, django_capture_on_commit_callbacks
):
    client = logged_in(scene["tracer"])
    _upload(client, scene["pings"], capture=django_capture_on_commit_callbacks)
    rows = {m.person_key: m for m in CompanionMatch.objects.all()}
    # P1 is already a close contact of C1: confirming merges (strictest category kept), no second contact
    tracing.contacts_import(table=pa.Table.from_pylist([contact(P1, "close", name="伴随甲")]), actor=None)
    r = client.post("/companions/review/", {"action": "confirm", "row": [rows[P1].pk, rows[PHONE_P2].pk]})
    assert r.status_code == 302
    assert Contact.objects.count() == 2
    p2 = Contact.objects.get(id_number=P2)
    assert (p2.category, p2.case.case_code, p2.phone) == ("companion", "C1", PHONE_P2)
    assert timezone_str(p2.last_exposure_at) == "2022-03-20 09:00:00"
    assert Contact.objects.get(id_number=P1).category == "close"
    assert ContactRow.objects.filter(category="companion").count() == 2
    plans = {p.id_number: p for p in provider("plans_as_of")(None)}
    assert plans[P2].category == "companion" and plans[P2].plan.measure == "test_monitoring"
    # again, and "confirm all shown" over the rest: nothing duplicates; the unknown phone stays pending
    client.post("/companions/review/", {"action": "confirm", "row": [rows[P1].pk, rows[PHONE_P2].pk]})
    shown = [m.pk for m in rows.values()]
    r = client.post("/companions/review/", {"action": "confirm_all", "shown": shown}, follow=True)
    assert "不在底数中" in r.content.decode() or "registry" in r.content.decode()
    # the Licheng resident beside Jinjiang's case: Jinjiang's case, Jinjiang's decision
    assert Contact.objects.count() == 3 and Contact.objects.get(id_number=LC_PERSON).county_code == LICHENG
    statuses = {m.person_key: m.status for m in CompanionMatch.objects.all()}
    assert statuses[P1] == statuses[PHONE_P2] == statuses[LC_PERSON] == "confirmed"
    assert statuses[UNKNOWN_PHONE] == "pending"
    assert ContactRow.objects.filter(category="companion").count() == 3
    # a second run of the same file: confirming its rows registers nothing new
    _upload(client, scene["pings"], capture=django_capture_on_commit_callbacks)
    second = CompanionMatch.objects.filter(run=CompanionRun.objects.order_by("-created_at").first())
    decided = services.companions_confirm(actor=actor(scene["tracer"]), ids=[m.pk for m in second])
    assert decided.confirmed == 0 and decided.duplicate == 3 and decided.refused == {"not_in_registry": 1}
    assert ContactRow.objects.filter(category="companion").count() == 3 and Contact.objects.count() == 3


def timezone_str(value) -> str:
    from lianfang.core.times import format_time

    return format_time(value)


def test_without_tracing_no_confirm_button_and_the_service_refuses(scene):
    run = companion_run(scene["tracer"], CASE_A, {P1: ("2022-03-20 08:10", "2022-03-20 08:50")})
    match = CompanionMatch.objects.get(run=run)
    with apps_left_out("lianfang.tracing"):
        client = logged_in(scene["tracer"])
        text = client.get("/companions/review/").content.decode()
        assert P1 in text and 'id="confirm"' not in text and 'id="no-tracing"' in text
        with pytest.raises(Refused) as exc:
            services.companions_confirm(actor=actor(scene["tracer"]), ids=[match.pk])
        assert exc.value.code == "tracing_missing" and "not installed" in exc.value.en
        page = client.get("/companions/").content.decode()
        assert 'id="no-tracing"' in page and 'id="upload"' not in page
    match.refresh_from_db()
    assert match.status == "pending"


def test_the_nav_entry_is_shown_to_tracers_only(scene):
    assert "/companions/review/" in logged_in(scene["tracer"]).get("/").content.decode()
    sampler = make_user("jj_sampler", Role.SAMPLER, [JINJIANG])
    assert "/companions/review/" not in logged_in(sampler).get("/").content.decode()


def test_a_run_covers_the_uploaders_cases_only_and_runs_once(scene):
    """A Licheng case in the same pings is not computed for a Jinjiang tracer; its keys still keep
    the Licheng case out of Jinjiang's companions (FORMATS.md); a second execution changes nothing."""
    lc_case = rid(LICHENG, "19790909", "071")
    tracing.cases_import(
        table=pa.Table.from_pylist([case("LC9", id_number=lc_case, community_code=LC_COMMUNITY)]), actor=None
    )
    run = companion_run(
        scene["tracer"],
        CASE_A,
        {P1: ("2022-03-20 08:10", "2022-03-20 08:50"), lc_case: ("2022-03-20 08:00", "2022-03-20 09:00")},
    )
    assert run.cases == 1 and set(CompanionMatch.objects.values_list("case_code", "person_key")) == {
        ("C1", P1)
    }
    services.companions_run_execute(run_id=str(run.pk))
    assert CompanionMatch.objects.count() == 1
    with pytest.raises(Refused) as exc:  # naming it is refused like a case that does not exist
        services.companions_run_create(
            actor=actor(scene["tracer"]), uploaded_file=SimpleUploadedFile("p.csv", b"x"), case_codes=["LC9"]
        )
    assert exc.value.code == "unknown_case"
