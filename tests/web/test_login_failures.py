"""Login throttling counts failures since the last success (issue 17, bug 8).

Written against the /login/ page only (not the throttling's internals), so it holds whatever
counts the failures: a user who mistyped a few times and then logged in must not be locked out by
their next typo — the success starts the count again.
"""

from __future__ import annotations

from django.conf import settings
from django.test import Client

from tests.conftest import PASSWORD


def _login(client: Client, password: str):
    return client.post("/login/", {"username": "jj_office", "password": password})


def _logged_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def test_a_successful_login_starts_the_failure_count_again(db, county_user):
    below_limit = settings.AXES_FAILURE_LIMIT - 1
    client = Client()
    for _ in range(below_limit):
        assert _login(client, "wrong").status_code == 200 and not _logged_in(client)
    response = _login(client, PASSWORD)
    assert response.status_code == 302 and _logged_in(client)
    client.post("/logout/")
    assert not _logged_in(client)
    # Later, one more typo, then the right password: let in.
    assert _login(client, "wrong").status_code == 200
    response = _login(client, PASSWORD)
    assert response.status_code == 302 and _logged_in(client), "locked out by one typo after a login"
    # And the count really started again: as many typos as before are still allowed.
    client.post("/logout/")
    for _ in range(below_limit - 1):
        _login(client, "wrong")
    assert _login(client, PASSWORD).status_code == 302 and _logged_in(client)


def test_failures_up_to_the_limit_still_lock_the_user_out(db, county_user):
    """The other side: the count is not simply forgotten."""
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _login(client, "wrong")
    response = _login(client, PASSWORD)
    assert response.status_code != 302 and not _logged_in(client)
