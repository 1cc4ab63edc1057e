"""Token authentication (one plain-SQL query per device request): who the token is, and who it is not."""

from __future__ import annotations

import datetime as dt

from django.test import Client
from django.utils import timezone

from lianfang.accounts.models import ApiToken
from lianfang.accounts.roles import Role
from lianfang.accounts.services import token_actor, token_issue, token_revoke
from tests.conftest import JINJIANG, LC_COMMUNITY, make_user


def test_actor_has_user_role_and_every_jurisdiction(db):
    user = make_user("twoareas", Role.SAMPLER, [JINJIANG, LC_COMMUNITY])
    token, raw = token_issue(user=user, name="desk")
    actor = token_actor(raw, ip="10.0.0.7")
    assert actor.user.pk == user.pk and actor.user.username == "twoareas"
    assert actor.role == Role.SAMPLER
    assert actor.codes == tuple(sorted([JINJIANG, LC_COMMUNITY]))
    assert (actor.token_id, actor.ip) == (token.pk, "10.0.0.7")
    # Fields not read by the query load on access, like .only(): nothing is silently blank.
    assert actor.user.email == user.email and actor.user.date_joined == user.date_joined


def test_user_without_jurisdiction_gets_no_codes(db):
    user = make_user("nowhere", Role.SAMPLER, [])
    _, raw = token_issue(user=user, name="desk")
    actor = token_actor(raw)
    assert actor is not None and actor.codes == ()


def test_refused_tokens(db):
    user = make_user("desk2", Role.SAMPLER, [JINJIANG])
    token, raw = token_issue(user=user, name="desk")
    assert token_actor(raw) is not None
    for wrong in ("", "Bearer", raw + "x", raw[3:], "lf_" + "A" * 43):
        assert token_actor(wrong) is None, wrong
    token_revoke(token=token)
    assert token_actor(raw) is None
    _, raw2 = token_issue(user=user, name="desk2")
    user.is_active = False
    user.save(update_fields=["is_active"])
    assert token_actor(raw2) is None
    assert Client().get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {raw2}").status_code == 401


def test_last_used_is_written_at_most_once_a_minute(db, django_assert_num_queries):
    user = make_user("desk3", Role.SAMPLER, [JINJIANG])
    token, raw = token_issue(user=user, name="desk")
    assert token.last_used_at is None
    with django_assert_num_queries(2):  # the read, then the first use is written
        token_actor(raw)
    first = ApiToken.objects.get(pk=token.pk).last_used_at
    assert first is not None
    with django_assert_num_queries(1):  # within the minute: the read only
        token_actor(raw)
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now() - dt.timedelta(minutes=2))
    with django_assert_num_queries(2):
        token_actor(raw)
    assert ApiToken.objects.get(pk=token.pk).last_used_at > first
