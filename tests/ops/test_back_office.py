"""The back office speaks Chinese everywhere, and offers the role model, not Django's groups and
permissions: an administrator by role (staff, not superuser) walks every page the index links."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from django.utils import timezone

from lianfang.accounts.models import ApiToken
from tests.conftest import logged_in, make_user

# Words that are the same in Chinese text: names, codes, formats, protocol words.
SAME_IN_CHINESE = {"Lianfang", "English", "API", "CSV", "XLSX", "GET", "POST", "HTTP", "Accept", "sha256"}


class _Text(HTMLParser):
    def __init__(self):
        super().__init__()
        self.texts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        self._skip += tag in ("script", "style")

    def handle_endtag(self, tag):
        self._skip -= tag in ("script", "style")

    def handle_data(self, data):
        if not self._skip and data.strip():
            self.texts.append(data.strip())


def _english(html: str, data: set[str]) -> list[str]:
    parser = _Text()
    parser.feed(html)
    found = []
    for text in parser.texts:
        if re.search(r"[\u4e00-\u9fff]", text) or not re.search(r"[A-Za-z]{3,}", text):
            continue
        # words, not paths (/login/), hashes or masked values (dae0f4****)
        words = {w for w in re.findall(r"[A-Za-z][A-Za-z0-9_.\-]*", text) if not re.search(r"\d", w)}
        words -= set(re.findall(r"/([A-Za-z_]+)/", text))
        if words - SAME_IN_CHINESE - data:
            found.append(text)
    return found


@pytest.fixture
def admin_by_role(db):
    user = make_user("backoffice", "admin", ["3505"])
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    return user


@pytest.fixture
def rows(admin_by_role):
    """A row on each list, so that its column headers show."""
    from axes.models import AccessAttempt
    from django_tasks_db.models import DBTaskResult

    AccessAttempt.objects.create(
        username="someone",
        ip_address="10.0.0.9",
        user_agent="agent",
        path_info="/login/",
        failures_since_start=3,
        get_data="",
        post_data="",
    )
    DBTaskResult.objects.create(
        task_path="lianfang.imports.tasks.run_import_job",
        args_kwargs={"args": ["j"], "kwargs": {}},
        backend_name="default",
        run_after=timezone.now(),
        finished_at=timezone.now(),
        status="SUCCESSFUL",
    )
    ApiToken.objects.create(user=admin_by_role, name="扫码枪", prefix="lf_abc", key_hash="0" * 64)
    return {"someone", "agent", "/login/", "lf_abc", "backoffice", "run_import_job"}


def test_every_back_office_page_is_in_chinese(admin_by_role, rows):
    client = logged_in(admin_by_role)
    index = client.get("/admin/")
    assert index.status_code == 200
    links = sorted(set(re.findall(r'href="(/admin/[a-z_]+/[a-z_]+/(?:add/)?)"', index.content.decode())))
    assert len(links) >= 6
    pages = ["/admin/", *links, f"/admin/accounts/user/{admin_by_role.pk}/change/"]
    for link in [link for link in links if not link.endswith("/add/")]:
        listing = client.get(link).content.decode()
        first = re.search(rf'href="({link}[^"/]+/change/)"', listing)
        if first:
            pages.append(first.group(1).replace("&amp;", "&"))
    untranslated = {}
    for url in pages:
        answer = client.get(url)
        assert answer.status_code == 200, url
        english = _english(answer.content.decode(), rows)
        if english:
            untranslated[url] = english
    assert not untranslated, f"English in the back office: {untranslated}"


def test_groups_and_permissions_are_not_offered(admin_by_role):
    client = logged_in(admin_by_role)
    index = client.get("/admin/").content.decode()
    assert "/admin/auth/group/" not in index
    assert client.get("/admin/auth/group/").status_code == 404
    change = client.get(f"/admin/accounts/user/{admin_by_role.pk}/change/").content.decode()
    assert 'name="groups"' not in change and 'name="user_permissions"' not in change
    assert 'name="role"' in change


def test_rights_come_from_the_role(admin_by_role, db):
    assert admin_by_role.has_perm("accounts.change_user") and not admin_by_role.is_superuser
    office = make_user("office_staff", "command_office", ["3505"])
    office.is_staff = True
    office.save(update_fields=["is_staff"])
    assert not office.has_perm("accounts.change_user")
    assert logged_in(office).get("/admin/").status_code == 302  # to the login: not an administrator
