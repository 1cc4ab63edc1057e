"""The problem list's pages: the loop through the forms, messages for refused steps, red when
overdue, evidence served only to readers of the problem, every view audited."""

from __future__ import annotations

import datetime as dt

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from lianfang.accounts.models import AuditEvent
from lianfang.accounts.roles import Role
from lianfang.command.models import Evidence, Problem
from tests.conftest import JINJIANG, JJ_COMMUNITY, LICHENG, logged_in, make_user

JPEG = b"\xff\xd8\xff\xe0" + bytes(64)


def test_the_loop_through_the_pages(db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    inspector = logged_in(make_user("p_insp", Role.INSPECTOR, [JINJIANG]))
    worker = logged_in(make_user("p_grid", Role.COMMUNITY_WORKER, [JINJIANG]))
    stranger = logged_in(make_user("p_lc", Role.COMMAND_OFFICE, [LICHENG]))
    filed = inspector.post("/problems/", {"title": "核酸点未按要求消杀", "division_code": JJ_COMMUNITY})
    assert filed.status_code == 302
    problem = Problem.objects.get()
    url = f"/problems/{problem.pk}/"
    assert "核酸点未按要求消杀" in worker.get("/problems/").content.decode()
    photo = SimpleUploadedFile("现场.jpg", JPEG, content_type="image/jpeg")
    assert worker.post(url + "evidence/", {"file": photo}).status_code == 302
    fake = SimpleUploadedFile("x.jpg", b"<html>not a photo</html>", content_type="image/jpeg")
    refused = worker.post(url + "evidence/", {"file": fake})
    assert refused.status_code == 400 and "只接受" in refused.content.decode()
    evidence = Evidence.objects.get()
    assert worker.get(f"/problems/evidence/{evidence.pk}/").content == JPEG
    assert stranger.get(f"/problems/evidence/{evidence.pk}/").status_code == 404
    assert stranger.get(url).status_code == 404
    assert worker.post(url + "act/", {"action": "verify"}).status_code == 403  # not the worker's verb
    for client, action in [(worker, "start"), (worker, "report"), (inspector, "verify")]:
        assert client.post(url + "act/", {"action": action}).status_code == 302, action
    bad = inspector.post(url + "act/", {"action": "reject", "reason": "x"})
    assert bad.status_code == 400 and "状态" in bad.content.decode()
    assert "销号" in inspector.get(url).content.decode()
    events = AuditEvent.objects.filter(object_type__in=["problem", "evidence", "problem_list"])
    assert {"view", "create", "update"} <= set(events.values_list("action", flat=True))


def test_an_overdue_problem_shows_red(db):
    user = make_user("p_cmd", Role.COMMANDER, [JINJIANG])
    client = logged_in(user)
    client.post("/problems/", {"title": "超时问题", "division_code": JINJIANG})
    Problem.objects.update(deadline_at=timezone.now() - dt.timedelta(minutes=1))
    page = client.get("/problems/").content.decode()
    assert 'class="overdue"' in page
    assert "overdue-badge" in client.get(f"/problems/{Problem.objects.get().pk}/").content.decode()


def test_filing_refusals_are_messages_not_errors(db):
    client = logged_in(make_user("p_insp2", Role.INSPECTOR, [JINJIANG]))
    for data, text in [
        ({"title": "x", "division_code": "3505"}, "辖区"),
        ({"title": "", "division_code": JINJIANG}, "请填写问题"),
        ({"title": "x", "division_code": JINJIANG, "deadline": "明天"}, "不是有效时间"),
    ]:
        response = client.post("/problems/", data)
        assert response.status_code == 400 and text in response.content.decode(), data
    assert not Problem.objects.exists()
    sampler = logged_in(make_user("p_smp", Role.SAMPLER, [JINJIANG]))
    assert sampler.get("/problems/").status_code == 404
