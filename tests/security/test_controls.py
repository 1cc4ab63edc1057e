"""The controls of docs/security.md that are not scoping: login throttling on every path, the audit
of accounts and tokens, the audit log's own jurisdiction and append-only table, sessions, headers,
masking, the API's budgets and who may read the registry through it."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.test import Client, RequestFactory

from lianfang.accounts.masking import mask_address, mask_id_number, mask_query
from lianfang.accounts.models import ApiToken, AuditEvent, User
from lianfang.accounts.roles import Role
from lianfang.accounts.scoping import client_ip
from lianfang.accounts.services import audit_record, token_issue, token_revoke
from tests.conftest import (
    JINJIANG,
    JJ_COMMUNITY,
    LC_COMMUNITY,
    PASSWORD,
    actor,
    logged_in,
    make_person,
    make_user,
    rid,
)


def _fail(client, path, username="jj_office", **extra):
    return client.post(path, {"username": username, "password": "wrong"}, **extra)


# --- login ------------------------------------------------------------------------------------


def test_a_lock_earned_on_one_login_path_holds_on_the_other(db, county_user, settings):
    settings.AXES_FAILURE_LIMIT = 3
    client = Client()
    for _ in range(3):
        _fail(client, "/admin/login/")
    # The right password, on the page login and on the back office's, from the same address: refused.
    assert client.post("/login/", {"username": "jj_office", "password": PASSWORD}).status_code == 429
    locked = client.post("/admin/login/", {"username": "jj_office", "password": PASSWORD})
    assert locked.status_code == 429 and "登录失败次数过多" in locked.content.decode()
    assert "_auth_user_id" not in client.session
    failures = AuditEvent.objects.filter(action="login_failed", object_id="jj_office")
    assert failures.count() == 5
    assert {e.detail["path"] for e in failures} == {"/login/", "/admin/login/"}
    # The failures belong to the named user's county: its auditor sees them.
    assert set(failures.values_list("area", flat=True)) == {JINJIANG}


def test_the_lock_is_per_account_and_address_not_per_account(db, county_user, settings):
    settings.AXES_FAILURE_LIMIT = 3
    attacker = Client(REMOTE_ADDR="10.9.9.9")
    for _ in range(4):
        _fail(attacker, "/login/")
    assert attacker.post("/login/", {"username": "jj_office", "password": PASSWORD}).status_code == 429
    # The user at their own desk still logs in: nobody elsewhere can lock them out.
    desk = Client(REMOTE_ADDR="10.1.1.1")
    assert desk.post("/login/", {"username": "jj_office", "password": PASSWORD}).status_code == 302


def test_the_lock_lifts_after_the_cool_off(db, county_user, settings):
    import datetime as dt

    from axes.models import AccessAttempt

    settings.AXES_FAILURE_LIMIT = 3
    client = Client()
    for _ in range(3):
        _fail(client, "/login/")
    assert client.post("/login/", {"username": "jj_office", "password": PASSWORD}).status_code == 429
    AccessAttempt.objects.update(attempt_time=dt.datetime.now(dt.UTC) - settings.AXES_COOLOFF_TIME * 2)
    assert client.post("/login/", {"username": "jj_office", "password": PASSWORD}).status_code == 302


def test_admin_login_is_audited(db):
    admin = make_user("sysadmin", Role.ADMIN, ["3505"])
    User.objects.filter(pk=admin.pk).update(is_staff=True)
    response = Client().post("/admin/login/?next=/admin/", {"username": "sysadmin", "password": PASSWORD})
    assert response.status_code == 302
    event = AuditEvent.objects.get(action="login", user=admin)
    assert event.detail == {"path": "/admin/login/"} and event.area == "3505"


def test_login_view_hides_the_password_from_error_reports(db):
    from lianfang.web.views import login_view

    request = RequestFactory().post("/login/", {"username": "x", "password": "secret-typed"})
    request.session = Client().session
    from django.contrib.auth.models import AnonymousUser

    request.user = AnonymousUser()
    login_view(request)
    assert request.sensitive_post_parameters == ("password",)


# --- audit of accounts, tokens and the log itself ---------------------------------------------


def _admin_client():
    admin = make_user("sysadmin", Role.ADMIN, ["3505"])
    User.objects.filter(pk=admin.pk).update(is_staff=True, is_superuser=True)
    admin.refresh_from_db()
    return admin, logged_in(admin)


def test_role_and_jurisdiction_changes_in_the_back_office_are_audited(db, county_user):
    admin, client = _admin_client()
    url = f"/admin/accounts/user/{county_user.pk}/change/"
    form = client.get(url).context["adminform"].form
    data = {
        k: v
        for k, v in form.initial.items()
        if v is not None and k not in ("password", "groups", "user_permissions")
    }
    data.update(
        {
            "username": "jj_office",
            "role": Role.COMMANDER,
            "date_joined_0": "2022-03-14",
            "date_joined_1": "08:00:00",
            "jurisdictions-TOTAL_FORMS": "2",
            "jurisdictions-INITIAL_FORMS": "1",
            "jurisdictions-MIN_NUM_FORMS": "0",
            "jurisdictions-MAX_NUM_FORMS": "1000",
            "jurisdictions-0-id": str(county_user.jurisdictions.get().pk),
            "jurisdictions-0-user": str(county_user.pk),
            "jurisdictions-0-division": JINJIANG,
            "jurisdictions-1-user": str(county_user.pk),
            "jurisdictions-1-division": LC_COMMUNITY[:6],
        }
    )
    data.pop("last_login", None)
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    county_user.refresh_from_db()
    assert county_user.role == Role.COMMANDER
    event = AuditEvent.objects.get(action="update", object_type="user", object_id="jj_office")
    assert event.user == admin
    assert event.detail["role"] == Role.COMMANDER
    assert event.detail["jurisdictions_added"] == [LC_COMMUNITY[:6]]
    assert event.detail["jurisdictions_removed"] == []


def test_token_issue_and_revoke_are_audited_in_the_holders_jurisdiction(db, county_user):
    token, _ = token_issue(user=county_user, name="采样平板 7", actor=actor(county_user))
    token_revoke(token=token, actor=None)
    events = list(AuditEvent.objects.filter(action="token").order_by("id"))
    assert [e.detail["op"] for e in events] == ["issue", "revoke"]
    assert all(e.object_id == str(token.pk) and e.area == JINJIANG for e in events)
    assert events[0].detail["prefix"] == token.prefix and "lf_" not in str(events[1].detail)


def test_token_revoked_in_the_back_office_is_audited(db, county_user):
    admin, client = _admin_client()
    token, _ = token_issue(user=county_user, name="t")
    response = client.post("/admin/accounts/apitoken/", {"action": "revoke", "_selected_action": [token.pk]})
    assert response.status_code == 302
    assert ApiToken.objects.get(pk=token.pk).revoked_at is not None
    assert AuditEvent.objects.get(action="token", detail__op="revoke").user == admin


def test_a_county_auditor_reads_only_their_countys_events(db, county_user):
    lc_user = make_user("lc_office", Role.COMMAND_OFFICE, [LC_COMMUNITY[:6]])
    audit_record(actor=actor(county_user), action="view", object_type="person", object_id="1")
    audit_record(actor=actor(lc_user), action="view", object_type="person", object_id="2")
    audit_record(actor=None, action="import", object_type="persons", object_id="cli")
    jj_auditor = make_user("jj_auditor", Role.AUDITOR, [JINJIANG])
    city_auditor = make_user("city_auditor", Role.AUDITOR, ["3505"])
    jj_page = logged_in(jj_auditor).get("/audit/").content.decode()
    assert "jj_office" in jj_page and "lc_office" not in jj_page and ">cli<" not in jj_page
    city_page = logged_in(city_auditor).get("/audit/").content.decode()
    assert "jj_office" in city_page and "lc_office" in city_page
    assert AuditEvent.objects.visible_to(actor(city_auditor)).filter(area="").count() == 1
    assert not AuditEvent.objects.visible_to(actor(make_user("nobody", Role.AUDITOR, []))).exists()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigger is PostgreSQL's")
def test_the_audit_table_refuses_updates_and_deletes_in_the_database(db, county_user):
    event = audit_record(actor=actor(county_user), action="view", object_type="person", object_id="1")
    table = AuditEvent._meta.db_table
    for sql in (f"UPDATE {table} SET action = 'x' WHERE id = %s", f"DELETE FROM {table} WHERE id = %s"):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as c,
        ):
            c.execute(sql, [event.pk])
    assert AuditEvent.objects.get(pk=event.pk).action == "view"


def test_search_terms_are_audited_masked(db, county_user):
    client = logged_in(county_user)
    pid = rid("350582", "19800808", "123")
    for q in (pid, "13805951234", "陈建国", "cjg"):
        client.get("/people/", {"q": q})
    stored = [e.detail["q"] for e in AuditEvent.objects.filter(action="search").order_by("id")]
    assert stored == [mask_id_number(pid), "138****1234", "陈**", "cjg"]


def test_client_address_believes_only_a_trusted_proxy(settings):
    rf = RequestFactory()
    spoofed = rf.get("/", REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR="1.2.3.4")
    assert client_ip(spoofed) == "10.0.0.5"
    settings.TRUSTED_PROXIES = ["10.0.0.5"]
    via_proxy = rf.get("/", REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR="6.6.6.6, 172.16.0.9")
    assert client_ip(via_proxy) == "172.16.0.9"  # the hop the proxy saw; the client's own claim ignored
    garbage = rf.get("/", REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR="<script>")
    assert client_ip(garbage) == "10.0.0.5"


# --- sessions, headers, settings ----------------------------------------------------------------


def test_sessions_end_when_idle_and_with_the_browser(db, county_user):
    import datetime as dt

    from django.contrib.sessions.models import Session

    assert settings.SESSION_COOKIE_AGE == settings.SESSION_IDLE_MINUTES * 60 == 30 * 60
    assert settings.SESSION_EXPIRE_AT_BROWSER_CLOSE
    client = Client()
    client.post("/login/", {"username": "jj_office", "password": PASSWORD})
    assert client.cookies["sessionid"]["max-age"] == ""  # a browser-session cookie
    session = Session.objects.get(session_key=client.cookies["sessionid"].value)
    left = session.expire_date - dt.datetime.now(dt.UTC)
    assert dt.timedelta(minutes=29) < left <= dt.timedelta(minutes=30)
    # Idle past the timeout: the next page sends the user to log in.
    Session.objects.filter(pk=session.pk).update(
        expire_date=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    )
    assert client.get("/").status_code == 302


def test_pages_exports_and_api_answers_are_never_cached(db, county_user):
    make_person(id_number=rid("350582", "19800808", "123"), name="陈建国")
    client = logged_in(county_user)
    _, raw = token_issue(user=county_user, name="t")
    answers = [
        client.get("/"),
        client.get("/people/?q=cjg"),
        client.get(f"/divisions/{JJ_COMMUNITY}/export.csv"),
        Client().get("/api/v1/persons?q=cjg", HTTP_AUTHORIZATION=f"Bearer {raw}"),
        Client().get("/login/"),
    ]
    for response in answers:
        assert response.status_code == 200
        assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]


def test_pages_send_a_content_security_policy_without_inline_script(db, county_user):
    policy = logged_in(county_user).get("/")["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
    assert directives["script-src"] == "'self'" and directives["style-src"] == "'self'"
    assert directives["object-src"] == "'none'" and directives["frame-ancestors"] == "'none'"
    assert "unsafe" not in policy


def test_templates_carry_no_inline_script_or_style():
    """The policy forbids them: an inline handler or style attribute would silently stop working."""
    import re
    from pathlib import Path

    import lianfang

    offending = []
    for path in Path(lianfang.__file__).parent.rglob("templates/**/*.html"):
        text = path.read_text(encoding="utf-8")
        for pattern in (
            r"\son[a-z]+\s*=",
            r"\sstyle\s*=",
            r"<style",
            r"<script(?![^>]*\b(src|type=\"application/json\")\b)[^>]*>",
        ):
            offending += [f"{path.name}: {m.group(0)}" for m in re.finditer(pattern, text)]
    assert not offending


def _settings_in_a_fresh_process(env: dict, code: str) -> subprocess.CompletedProcess:
    # Not the test run's own settings (nor the browser tests' DJANGO_ALLOW_ASYNC_UNSAFE).
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("LIANFANG_") and k != "DJANGO_ALLOW_ASYNC_UNSAFE"
    }
    clean.update(env)
    return subprocess.run(
        [sys.executable, "-c", code], env=clean, capture_output=True, text=True, timeout=120
    )


def test_debug_is_off_unless_asked_for():
    code = "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='lianfang.config.settings'; django.setup(); from django.conf import settings; print(settings.DEBUG)"
    assert _settings_in_a_fresh_process({}, code).stdout.strip() == "False"
    assert _settings_in_a_fresh_process({"LIANFANG_DEBUG": "true"}, code).stdout.strip() == "True"


def test_production_settings_pass_djangos_deployment_check(tmp_path):
    env = {
        "LIANFANG_PRODUCTION": "true",
        "LIANFANG_SECRET_KEY": "k" * 20 + "Qz8#vX2!mN4@pL6$rT1%wY3^" * 2,
        "LIANFANG_ALLOWED_HOSTS": "lianfang.qz.gov.example",
        "LIANFANG_DATA_DIR": str(tmp_path),
    }
    code = "from lianfang.cli import main; main(['check', '--deploy', '--fail-level', 'WARNING'])"
    done = _settings_in_a_fresh_process(env, code)
    assert done.returncode == 0, done.stdout + done.stderr


# --- masking ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "address, shown",
    [
        ("金山花园3栋2单元501", "金山花园****"),
        ("金山花园三栋二单元五零一", "金山花园****"),
        ("金山花园A座1201", "金山花园****"),
        ("金山花园小区３栋", "金山花园****"),
        ("一号楼", "****"),
        ("丰泽区东湖街道金山花园", "丰泽区东湖****"),
    ],
)
def test_addresses_are_masked_whatever_script_their_numbers_use(address, shown):
    assert mask_address(address) == shown


def test_short_id_numbers_keep_most_characters_hidden():
    for value in ("E12345678", "H1234567", "C1234567890"[:10]):
        masked = mask_id_number(value)
        assert len(masked) == len(value) and masked.count("*") > len(value) / 2, masked
    assert mask_id_number("AB12") == "****"
    assert mask_query("陈建国", "name") == "陈**" and mask_query("0316", "digits") == "0316"


def test_health_tags_are_shown_only_to_roles_that_see_personal_data(db, county_user, county_tracer):
    from lianfang.people.presenters import person_public

    person = make_person(
        id_number=rid("350582", "19500101", "001"), name="王卧床", tags="bedridden;elderly_alone"
    )
    masked = person_public(person, actor(county_user))
    assert masked["tags"] == ["elderly_alone"] and masked["home_sampling"] is True
    assert person_public(person, actor(county_tracer))["tags"] == ["bedridden", "elderly_alone"]


# --- the API ----------------------------------------------------------------------------------


def test_device_roles_cannot_read_the_registry_through_the_api(db):
    make_person(id_number=rid("350582", "19800808", "123"), name="陈建国")
    for role in (Role.LAB, Role.SAMPLER, Role.VOLUNTEER):
        user = make_user(f"dev_{role}", role, [JINJIANG])
        _, raw = token_issue(user=user, name="device")
        auth = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
        for url in (
            "/api/v1/persons?q=cjg",
            f"/api/v1/persons/lookup?id_number={rid('350582', '19800808', '123')}",
        ):
            response = Client().get(url, **auth)
            assert response.status_code == 403, (role, url, response.status_code)
            assert "陈建国" not in response.content.decode()


def test_person_searches_have_a_budget_per_user(db, county_user, settings):
    from django.core.cache import cache

    cache.clear()
    settings.API_SEARCH_PER_MINUTE = 3
    _, raw = token_issue(user=county_user, name="script")
    _, raw2 = token_issue(user=county_user, name="second script")  # a second token shares the budget
    codes = [
        Client().get("/api/v1/persons?q=cjg", HTTP_AUTHORIZATION=f"Bearer {t}").status_code
        for t in (raw, raw2, raw, raw2, raw)
    ]
    assert codes == [200, 200, 200, 429, 429]
    limited = Client().get("/api/v1/persons?q=cjg", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert 1 <= int(limited["Retry-After"]) <= 60 and "too many requests" in limited.json()["detail"]
    assert Client().get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 200
    cache.clear()


def test_every_token_has_a_request_budget(db, county_user, settings):
    from django.core.cache import cache

    cache.clear()
    settings.API_RATE_PER_MINUTE = 4
    _, raw = token_issue(user=county_user, name="t")
    _, other = token_issue(user=county_user, name="u")
    codes = [Client().get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code for _ in range(6)]
    assert codes == [200, 200, 200, 200, 429, 429]
    assert Client().get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {other}").status_code == 200
    cache.clear()


def test_the_api_schema_and_docs_need_a_login(db, county_user):
    for url in ("/api/v1/openapi.json", "/api/v1/docs"):
        response = Client().get(url)
        assert response.status_code == 302 and response["Location"].startswith("/login/"), url
        assert logged_in(county_user).get(url).status_code == 200, url


def test_the_schema_declares_every_status_the_api_answers():
    from lianfang.api.api import api

    schema = api.get_openapi_schema()
    assert "ErrorOut" in schema["components"]["schemas"]
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            declared = {str(s) for s in operation["responses"]}
            assert {"200", "400", "401", "422", "429", "503"} <= declared, (path, method)
            if method != "get":
                assert {"403", "404", "409"} <= declared, (path, method)
            if "{" in path:
                assert "404" in declared, path
