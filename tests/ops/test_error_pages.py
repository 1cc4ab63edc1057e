"""Error pages in the product's layout, Chinese first and English on request; never Django's."""

from __future__ import annotations

from django.test import Client
from django.test.utils import override_settings
from django.urls import path

from lianfang.accounts.scoping import public
from tests.conftest import logged_in


def test_404_is_friendly_chinese_in_the_layout(county_user):
    answer = logged_in(county_user).get("/no-such-page/")
    body = answer.content.decode()
    assert answer.status_code == 404
    assert "页面不存在" in body and "返回首页" in body and 'class="topbar"' in body
    assert "URLconf" not in body and "Page not found" not in body


def test_404_in_english(county_user):
    client = logged_in(county_user)
    client.cookies["django_language"] = "en"
    body = client.get("/no-such-page/").content.decode()
    assert "Page not found" in body and "页面不存在" not in body


def test_403_page_for_a_refused_form():
    client = Client(enforce_csrf_checks=True)
    answer = client.post("/login/", {"username": "x", "password": "y"})
    assert answer.status_code == 403
    assert "页面已过期" in answer.content.decode()


@public
def _boom(request):
    raise RuntimeError("boom")


urlpatterns = [path("boom/", _boom)]
handler500 = "lianfang.web.errors.server_error"


@override_settings(ROOT_URLCONF=__name__)
def test_500_is_friendly_and_shows_no_internals(db):
    client = Client(raise_request_exception=False)
    answer = client.get("/boom/")
    body = answer.content.decode()
    assert answer.status_code == 500
    assert "服务器出错了" in body and "boom" not in body and "Traceback" not in body
