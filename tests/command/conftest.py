"""The command tests install a throwaway app stating the other domains' facts (tests/command/facts)."""

from __future__ import annotations

import importlib

import pytest
from django.conf import settings
from django.test import override_settings
from django.urls import clear_url_caches

from lianfang.core import plugins
from tests.command.facts import state
from tests.conftest import instead_of_stating


def _remount():
    plugins.reset()
    clear_url_caches()
    importlib.reload(importlib.import_module(settings.ROOT_URLCONF))


@pytest.fixture
def facts():
    """The facts app installed (and emptied); forgotten again after the test."""
    state.clear()
    with override_settings(INSTALLED_APPS=instead_of_stating("tests.command.facts")):
        _remount()
        yield state
    state.clear()
    _remount()
