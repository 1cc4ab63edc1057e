"""Fixtures of the zones tests: a stand-in for the tracing app's facts."""

from __future__ import annotations

import importlib

import pytest
from django.conf import settings
from django.test import override_settings
from django.urls import clear_url_caches

from lianfang.core import plugins
from tests.conftest import instead_of_stating


@pytest.fixture(autouse=True)
def _fresh_cache():
    """The cache (rate limits) outlives a test's rollback."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def tracing_facts():
    """Install tests.zones.stub (stating cases_as_of and plans_as_of); yields its module of lists."""
    from tests.zones.stub import facts

    def remount():
        plugins.reset()
        clear_url_caches()
        importlib.reload(importlib.import_module(settings.ROOT_URLCONF))

    facts.CASES.clear()
    facts.PLANS.clear()
    with override_settings(INSTALLED_APPS=instead_of_stating("tests.zones.stub")):
        remount()
        yield facts
    facts.CASES.clear()
    facts.PLANS.clear()
    remount()
