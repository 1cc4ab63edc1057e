"""The device API: tubes, scans, buffered uploads, boxes, lab results, re-check tasks; binding and roles."""

from __future__ import annotations

import datetime as dt
import threading

import pyarrow as pa
import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from lianfang.accounts.roles import Role
from lianfang.screening import services
from lianfang.screening.models import Lab, RecheckTask, Result, Sample, Site, Tube
from tests.conftest import JINJIANG, JJ_COMMUNITY, LC_COMMUNITY, actor, make_person, make_user, rid
from tests.screening.helpers import ROUND_START

T = "2022-03-28 08:00"


def _setup():
    services.round_open(actor=None, code="R1", name="第一轮", scope=[JINJIANG], starts_at=ROUND_START)
    site = Site.objects.create(
        code="S1", name="一号点", community_id=JJ_COMMUNITY, town_code=JJ_COMMUNITY[:9], county_code=JINJIANG
    )
    Site.objects.create(
        code="S2", name="二号点", community_id=JJ_COMMUNITY, town_code=JJ_COMMUNITY[:9], county_code=JINJIANG
    )
    Site.objects.create(
        code="LC1",
        name="鲤城点",
        community_id=LC_COMMUNITY,
        town_code=LC_COMMUNITY[:9],
        county_code=LC_COMMUNITY[:6],
    )
    lab = Lab.objects.create(code="L1", name="一号实验室")
    return site, lab


def _client(user, *, site=None, lab=None) -> Client:
    if site is not None or lab is not None:
        _, raw = services.device_token_issue(user=user, name="desk", site=site, lab=lab)
    else:
        from lianfang.accounts.services import token_issue

        _, raw = token_issue(user=user, name="script")
    return Client(headers={"authorization": f"Bearer {raw}"})


def _ids(n: int, start: int = 0) -> list[str]:
    return [rid("350582", "19800101", f"{i:03d}") for i in range(start, start + n)]


@pytest.fixture
def sampler(db):
    return make_user("desk1", Role.SAMPLER, [JINJIANG])


def _tube(barcode: str, ids: list[str], pool: int = 10, **extra) -> dict:
    return {
        "round_code": "R1",
        "tube_barcode": barcode,
        "pool_size": pool,
        "members": [{"id_number": i, "collected_at": T} for i in ids],
        **extra,
    }


def test_tube_with_members_then_repeat_is_duplicate(sampler):
    site, _ = _setup()
    for i in _ids(3):
        make_person(id_number=i)
    client = _client(sampler, site=site)
    body = _tube("T1", _ids(3))
    first = client.post("/api/v1/screening/tubes", body, content_type="application/json").json()
    assert (first["read"], first["accepted"], first["duplicate"]) == (3, 3, 0)
    again = client.post("/api/v1/screening/tubes", body, content_type="application/json").json()
    assert (again["accepted"], again["duplicate"]) == (0, 3)
    assert Sample.objects.count() == 3
    assert Tube.objects.get(barcode="T1").site == site  # defaulted from the device's site


def test_scans_one_by_one_and_late_buffer_in_any_order(sampler):
    site, _ = _setup()
    client = _client(sampler, site=site)
    ids = _ids(5)
    for i in ids[:2]:
        r = client.post(
            "/api/v1/screening/scans",
            {"round_code": "R1", "tube_barcode": "T2", "pool_size": 5, "id_number": i, "collected_at": T},
            content_type="application/json",
        )
        assert r.json()["rows"][0]["outcome"] == "accepted"
    # The buffer of a device that lost its network: the first scans again, out of order, plus new ones.
    rows = [
        {"round_code": "R1", "tube_barcode": "T2", "pool_size": 5, "id_number": i, "collected_at": T}
        for i in reversed(ids)
    ]
    out = client.post("/api/v1/screening/samples", {"rows": rows}, content_type="application/json").json()
    assert (out["accepted"], out["duplicate"]) == (3, 2)
    assert Sample.objects.filter(tube__barcode="T2").count() == 5
    # Unregistered people are created unregistered and counted nowhere in the registry.
    assert Sample.objects.filter(person__registered=False).count() == 5


def test_rejections_are_explained_per_row(sampler):
    site, _ = _setup()
    client = _client(sampler, site=site)
    rows = [
        {"round_code": "R1", "tube_barcode": "T3", "pool_size": 5, "id_number": "123", "collected_at": T},
        {
            "round_code": "R1",
            "tube_barcode": "T3",
            "pool_size": 7,
            "id_number": _ids(1)[0],
            "collected_at": T,
        },
        {
            "round_code": "R1",
            "tube_barcode": "T3",
            "pool_size": 5,
            "id_number": _ids(1)[0],
            "collected_at": "later",
        },
        # Another site than the device's own: unknown to this device.
        {
            "round_code": "R1",
            "tube_barcode": "T3",
            "pool_size": 5,
            "id_number": _ids(1)[0],
            "collected_at": T,
            "site_code": "S2",
        },
    ]
    out = client.post("/api/v1/screening/samples", {"rows": rows}, content_type="application/json").json()
    assert [r["outcome"] for r in out["rows"]] == [
        "invalid_id_number",
        "bad_pool_size",
        "bad_time",
        "unknown_site",
    ]
    assert "证件号码无效" in out["rows"][0]["message"] and "invalid ID number" in out["rows"][0]["message"]
    assert out["read"] == out["accepted"] + out["duplicate"] + out["held"] + out["rejected"] == 4


def test_roles_and_jurisdiction(db):
    site, lab = _setup()
    volunteer = make_user("vol", Role.VOLUNTEER, [JINJIANG])
    r = _client(volunteer).post(
        "/api/v1/screening/tubes", _tube("T4", _ids(1), site_code="S1"), content_type="application/json"
    )
    assert r.status_code == 403
    # A Licheng sampler does not see the Jinjiang round: unknown_round, nothing stored.
    lc = make_user("lc_desk", Role.SAMPLER, [LC_COMMUNITY[:6]])
    out = (
        _client(lc)
        .post(
            "/api/v1/screening/tubes", _tube("T4", _ids(1), site_code="LC1"), content_type="application/json"
        )
        .json()
    )
    assert out["rows"][0]["outcome"] == "unknown_round"
    assert not Tube.objects.exists()
    assert _client(volunteer).post(
        "/api/v1/screening/tubes", {}, content_type="application/json"
    ).status_code in (403, 422)
    assert Client().post("/api/v1/screening/tubes", {}, content_type="application/json").status_code == 401


def test_services_refusing_a_role_answer_403_with_the_message(sampler):
    site, lab = _setup()
    refused = "您的角色无权执行此操作 / your role may not do this"
    lab_user = make_user("lab0", Role.LAB, [JINJIANG])
    r = _client(lab_user).post(
        "/api/v1/screening/rounds", {"code": "R9", "scope": [JINJIANG]}, content_type="application/json"
    )
    assert (r.status_code, r.json()) == (403, {"detail": refused})
    rows = {"rows": [{"tube_barcode": "T1", "lab_code": "L1", "result": "negative", "reported_at": T}]}
    r = _client(sampler, site=site).post("/api/v1/screening/results", rows, content_type="application/json")
    assert (r.status_code, r.json()) == (403, {"detail": refused})
    r = _client(lab_user, lab=lab).post(
        "/api/v1/screening/tubes", _tube("T1", _ids(1)), content_type="application/json"
    )
    assert (r.status_code, r.json()) == (403, {"detail": refused})
    assert not Tube.objects.exists() and not Result.objects.exists()


def test_lab_results_held_then_matched_and_abnormal_creates_tasks(sampler):
    site, lab = _setup()
    ids = _ids(3)
    for i in ids:
        make_person(id_number=i)
    lab_user = make_user("lab1", Role.LAB, ["3505"])
    lab_client = _client(lab_user, lab=lab)
    res = {
        "rows": [
            {"tube_barcode": "T5", "result": "阳性", "ct_orf1ab": 28.5, "reported_at": "2022-03-28 12:00"}
        ]
    }
    out = lab_client.post("/api/v1/screening/results", res, content_type="application/json").json()
    assert out["held"] == 1
    again = lab_client.post("/api/v1/screening/results", res, content_type="application/json").json()
    assert again["duplicate"] == 1
    other_lab = {"rows": [{**res["rows"][0], "lab_code": "L9"}]}
    assert (
        lab_client.post("/api/v1/screening/results", other_lab, content_type="application/json").json()[
            "rows"
        ][0]["outcome"]
        == "unknown_lab"
    )
    _client(sampler, site=site).post(
        "/api/v1/screening/tubes", _tube("T5", ids), content_type="application/json"
    )
    tube = Tube.objects.get(barcode="T5")
    assert (tube.state, tube.reason) == ("abnormal", "positive")
    assert hasattr(tube, "alert")
    assert RecheckTask.objects.filter(tube=tube).count() == 3
    # The emergency team registers a single tube against a task; the lab's negative closes it.
    worker = make_user("grid", Role.COMMUNITY_WORKER, [JINJIANG])
    wc = _client(worker)
    task_list = wc.get("/api/v1/screening/tasks").json()
    assert len(task_list) == 3
    t = task_list[0]
    r = wc.post(
        f"/api/v1/screening/tasks/{t['id']}/sample",
        {"tube_barcode": "S-0001"},
        content_type="application/json",
    )
    assert r.status_code == 200 and r.json()["status"] == "sampled"
    assert (
        wc.post(
            f"/api/v1/screening/tasks/{t['id']}/sample",
            {"tube_barcode": "S-0002"},
            content_type="application/json",
        ).status_code
        == 409
    )
    lab_client.post(
        "/api/v1/screening/results",
        {"rows": [{"tube_barcode": "S-0001", "result": "negative", "reported_at": "2022-03-28 15:00"}]},
        content_type="application/json",
    )
    assert RecheckTask.objects.get(pk=t["id"]).status == "negative"
    # Another county's worker cannot see or work the task: 404, not 403.
    lc_worker = make_user("lc_grid", Role.COMMUNITY_WORKER, [LC_COMMUNITY[:6]])
    assert (
        _client(lc_worker)
        .post(
            f"/api/v1/screening/tasks/{task_list[1]['id']}/sample",
            {"tube_barcode": "S-0003"},
            content_type="application/json",
        )
        .status_code
        == 404
    )


def test_task_sample_refuses_a_future_time(sampler):
    """The sample time of a re-check tube may run 5 minutes ahead of the server's clock, no more."""
    site, lab = _setup()
    make_person(id_number=_ids(1)[0])
    _client(sampler, site=site).post(
        "/api/v1/screening/tubes", _tube("T1", _ids(1)), content_type="application/json"
    )
    services.results_import(
        table=pa.table(
            {"tube_barcode": ["T1"], "lab_code": ["L1"], "result": ["positive"], "reported_at": [T]}
        ),
        actor=None,
    )
    task = RecheckTask.objects.get()
    worker = _client(make_user("grid", Role.COMMUNITY_WORKER, [JINJIANG]))
    url = f"/api/v1/screening/tasks/{task.pk}/sample"
    later = (timezone.now() + dt.timedelta(minutes=10)).isoformat()
    r = worker.post(url, {"tube_barcode": "S-1", "sampled_at": later}, content_type="application/json")
    assert r.status_code == 409
    assert r.json() == {"detail": "采样时间不能晚于当前时间 / the sampling time is in the future"}
    task.refresh_from_db()
    assert task.status == "open" and not Tube.objects.filter(barcode="S-1").exists()
    soon = (timezone.now() + dt.timedelta(minutes=4)).isoformat()
    r = worker.post(url, {"tube_barcode": "S-1", "sampled_at": soon}, content_type="application/json")
    assert r.status_code == 200 and r.json()["status"] == "sampled" and r.json()["check_tube"] == "S-1"


def test_box_handover(sampler):
    site, lab = _setup()
    client = _client(sampler, site=site)
    client.post("/api/v1/screening/tubes", _tube("T6", _ids(2)), content_type="application/json")
    out = client.post(
        "/api/v1/screening/boxes",
        {"box_code": "B1", "round_code": "R1", "tubes": ["T6", "T7"], "lab_code": "L1"},
        content_type="application/json",
    ).json()
    assert out == {"box_code": "B1", "tubes": 1, "unknown_tubes": ["T7"]}
    assert Tube.objects.get(barcode="T6").box_code == "B1"
    # A device bound to S1 naming another site: refused like a site that does not exist.
    other = client.post(
        "/api/v1/screening/boxes",
        {"box_code": "B2", "round_code": "R1", "tubes": ["T6"], "site_code": "S2"},
        content_type="application/json",
    )
    assert (other.status_code, other.json()) == (404, {"detail": "采样点不存在 / unknown site"})
    # A box code another site uses: a conflict.
    services.box_handover(actor=None, box_code="B3", round_code="R1", tubes=[], site_code="S2")
    taken = client.post(
        "/api/v1/screening/boxes",
        {"box_code": "B3", "round_code": "R1", "tubes": ["T6"]},
        content_type="application/json",
    )
    assert taken.status_code == 409 and "the box code belongs to another site" in taken.json()["detail"]


def test_box_handover_for_another_site_is_refused(sampler):
    site, lab = _setup()
    client = _client(sampler, site=site)
    client.post("/api/v1/screening/tubes", _tube("T6", _ids(2)), content_type="application/json")
    # A device bound to S1 naming another site: refused like a site that does not exist.
    other = client.post(
        "/api/v1/screening/boxes",
        {"box_code": "B2", "round_code": "R1", "tubes": ["T6"], "site_code": "S2"},
        content_type="application/json",
    )
    assert (other.status_code, other.json()) == (404, {"detail": "采样点不存在 / unknown site"})
    # A box code another site uses: a conflict.
    services.box_handover(actor=None, box_code="B3", round_code="R1", tubes=[], site_code="S2")
    taken = client.post(
        "/api/v1/screening/boxes",
        {"box_code": "B3", "round_code": "R1", "tubes": ["T6"]},
        content_type="application/json",
    )
    assert taken.status_code == 409 and "the box code belongs to another site" in taken.json()["detail"]
    assert Tube.objects.get(barcode="T6").box_code == ""


def test_open_round_by_api(db):
    office = make_user("office", Role.COMMAND_OFFICE, [JINJIANG])
    client = _client(office)
    r = client.post(
        "/api/v1/screening/rounds", {"code": "R9", "scope": [JINJIANG]}, content_type="application/json"
    )
    assert r.status_code == 200 and r.json()["scope"] == [JINJIANG]
    bad = client.post(
        "/api/v1/screening/rounds", {"code": "R10", "scope": ["350502"]}, content_type="application/json"
    )
    assert bad.status_code == 400 and "outside your jurisdiction" in bad.json()["detail"]
    assert [r["code"] for r in client.get("/api/v1/screening/rounds").json()] == ["R9"]


def test_concurrent_devices_store_exactly_what_was_sent(transactional_db):
    """N devices at once, same and different sites, overlapping tubes: every scan stored exactly once."""
    if connection.vendor != "postgresql":
        pytest.skip(
            "concurrency is tested on PostgreSQL (the in-memory SQLite test database is one connection)"
        )
    site, _ = _setup()
    s2 = Site.objects.get(code="S2")
    user = make_user("desk_c", Role.SAMPLER, [JINJIANG])
    clients = [_client(user, site=site if k % 2 else s2) for k in range(8)]
    ids = _ids(80)
    errors: list = []

    def work(k: int) -> None:
        try:
            c = clients[k]
            # Each device registers its own 5 tubes, and every device also rescans shared tube TS.
            for t in range(5):
                chunk = ids[(k * 5 + t) * 2 : (k * 5 + t) * 2 + 2]
                r = c.post(
                    "/api/v1/screening/tubes",
                    _tube(f"T{k}-{t}", chunk, pool=5),
                    content_type="application/json",
                )
                assert r.status_code == 200, r.content
            r = c.post(
                "/api/v1/screening/tubes",
                _tube("TS", ids[:10], pool=10, site_code=""),
                content_type="application/json",
            )
            assert r.status_code == 200, r.content
        except Exception as exc:  # noqa: BLE001 - surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert Tube.objects.count() == 41
    assert Sample.objects.count() == 80 + 10
    assert Sample.objects.filter(tube__barcode="TS").count() == 10


def test_samples_import_site_binding_is_enforced_in_service(db):
    site, _ = _setup()
    other = Site.objects.get(code="S2")
    table = pa.table(
        {
            "round_code": ["R1"],
            "tube_barcode": ["T8"],
            "pool_size": ["5"],
            "id_number": _ids(1),
            "site_code": ["S2"],
            "collected_at": [T],
        }
    )
    user = make_user("desk2", Role.SAMPLER, [JINJIANG])
    summary, outcomes = services.samples_import(table=table, actor=actor(user), site=site)
    assert list(outcomes) == ["unknown_site"] and other.tubes.count() == 0


def test_person_page_shows_the_hold_and_the_tube(sampler):
    from tests.conftest import logged_in

    site, lab = _setup()
    ids = _ids(2)
    person = make_person(id_number=ids[0])
    _client(sampler, site=site).post(
        "/api/v1/screening/tubes", _tube("T9", ids), content_type="application/json"
    )
    office = make_user("office2", Role.COMMAND_OFFICE, [JINJIANG])
    page = logged_in(office).get(f"/people/{person.pk}/").content.decode()
    assert "T9" in page and 'id="held"' not in page
    services.results_import(
        table=pa.table(
            {
                "tube_barcode": ["T9"],
                "lab_code": ["L1"],
                "result": ["positive"],
                "reported_at": ["2022-03-28 12:00"],
            }
        ),
        actor=None,
    )
    page = logged_in(office).get(f"/people/{person.pk}/").content.decode()
    assert 'id="held"' in page and "单采复核" in page


def test_device_binding_is_remembered_but_the_token_is_checked_every_time(sampler, django_assert_num_queries):
    from lianfang.accounts.models import ApiToken
    from lianfang.accounts.services import token_revoke

    site, _ = _setup()
    for i in _ids(2):
        make_person(id_number=i)
    client = _client(sampler, site=site)
    first = client.post("/api/v1/screening/tubes", _tube("T1", _ids(1)), content_type="application/json")
    assert first.json()["accepted"] == 1
    # The second request of the device no longer reads its binding, only the token (PostgreSQL
    # adds the tube locks).
    with django_assert_num_queries(9 + (connection.vendor == "postgresql")):
        again = client.post(
            "/api/v1/screening/tubes", _tube("T2", _ids(1, 1)), content_type="application/json"
        )
    assert again.json()["accepted"] == 1 and Tube.objects.get(barcode="T2").site == site
    token_revoke(token=ApiToken.objects.get(device__site=site))
    refused = client.post("/api/v1/screening/tubes", _tube("T3", _ids(1)), content_type="application/json")
    assert refused.status_code == 401
