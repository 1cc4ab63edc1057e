"""A busy, unreachable, full or damaged database answers 503 with a jittered Retry-After and a
message, on pages, the API and the CLI: never a 500, never "run lianfang init" for a lock."""

from __future__ import annotations

import logging

import pytest
from django.db import OperationalError
from django.test import Client

from lianfang.core.commands import EXIT_RETRY, needs_database
from lianfang.core.db import unavailable
from tests.conftest import logged_in


@pytest.mark.parametrize(
    "message, kind",
    [
        ("database is locked", "busy"),
        ("disk I/O error", "damaged"),
        ("database or disk is full", "full"),
        ('connection to server at "127.0.0.1", port 5432 failed: Connection refused', "down"),
        ("terminating connection due to administrator command", "down"),
        ("no such table: people_person", None),
    ],
)
def test_database_errors_are_told_apart(message, kind):
    assert unavailable(OperationalError(message)) == kind
    assert unavailable(ValueError(message)) is None


@pytest.fixture
def failing_search(monkeypatch):
    def use(message):
        def boom(**kwargs):
            raise OperationalError(message)

        monkeypatch.setattr("lianfang.web.views.persons_search", boom)
        monkeypatch.setattr("lianfang.api.api.persons_search", boom)

    return use


def test_a_locked_sqlite_answers_503_with_jittered_retry_after(db, county_user, failing_search, settings):
    settings.LIANFANG_RETRY_AFTER_S = 2
    failing_search("database is locked")
    client = Client(raise_request_exception=False)
    client.force_login(county_user)
    waits = set()
    for _ in range(20):
        response = client.get("/people/?q=cjg")
        assert response.status_code == 503 and "数据库繁忙" in response.content.decode()
        waits.add(int(response["Retry-After"]))
    assert waits <= {2, 3, 4} and len(waits) > 1  # jitter: devices do not all come back at once


def test_the_api_answers_json_503(db, county_user, failing_search):
    from lianfang.accounts.services import token_issue

    failing_search("could not connect to server: Connection refused")
    _, raw = token_issue(user=county_user, name="t")
    response = Client(raise_request_exception=False).get(
        "/api/v1/persons?q=cjg", HTTP_AUTHORIZATION=f"Bearer {raw}"
    )
    assert response.status_code == 503 and "retry" in response.json()["detail"]
    assert int(response["Retry-After"]) >= 1


def test_a_damaged_database_is_logged_loudly(db, county_user, failing_search, caplog):
    failing_search("disk I/O error")
    with caplog.at_level(logging.ERROR, logger="lianfang.config.load"):
        response = logged_in(county_user).get("/people/?q=cjg")
    assert response.status_code == 503 and "operator" in response.content.decode()
    assert any("damaged" in r.getMessage() for r in caplog.records if r.levelno == logging.ERROR)


@pytest.mark.parametrize(
    "message, status, text",
    [
        ("database is locked", EXIT_RETRY, "retry"),
        ("disk I/O error", 3, "operator"),
        ("database or disk is full", 3, "disk full"),
        ("no such table: screening_round", 3, "lianfang init"),
    ],
)
def test_the_cli_says_what_to_do(message, status, text, capsys):
    @needs_database
    def command(args):
        raise OperationalError(message)

    assert command(None) == status
    assert text in capsys.readouterr().err
