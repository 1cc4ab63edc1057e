"""Schemathesis against the API's own OpenAPI schema, in process, on SQLite and PostgreSQL: every
operation, a bounded number of generated requests each (valid and invalid), with a live token
holding the city, with requests that fit the schema and requests that do not: no 5xx, and every answer's status, content type and body as the schema says."""

from __future__ import annotations

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from lianfang.accounts.roles import Role
from lianfang.accounts.services import token_issue
from lianfang.api.api import api
from tests.conftest import make_user

pytestmark = pytest.mark.slow

EXAMPLES = 25  # per operation: bounded so CI stays in minutes

SCHEMA = schemathesis.openapi.from_dict(api.get_openapi_schema())
SCHEMA.app = get_wsgi_application()
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture
def in_test_transaction():
    """Requests reach the app as plain WSGI calls: keep Django from closing the test's database
    connection at the end of each one (its test Client does the same)."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def token(db, settings, in_test_transaction):
    from django.core.cache import cache

    cache.clear()
    settings.API_RATE_PER_MINUTE = 0
    settings.API_SEARCH_PER_MINUTE = 0
    # The city's command office: every route is open to the role (rounds, samples, results,
    # re-checks), so generated requests reach the code behind the checks instead of a 403.
    user = make_user("schema_office", Role.COMMAND_OFFICE, ["3505"])
    _, raw = token_issue(user=user, name="schemathesis")
    return raw


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
@pytest.mark.parametrize(
    "path, method",
    [(path, method) for path, ops in api.get_openapi_schema()["paths"].items() for method in ops],
)
def test_operation_conforms_and_never_answers_5xx(token, path, method, mode):
    operation = SCHEMA[path][method]

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case):
        case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)

    run()
