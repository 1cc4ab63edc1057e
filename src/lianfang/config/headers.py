"""Headers and session upkeep for every response.

Cache-Control on everything the server renders: personal data is never kept by a browser or a
proxy cache (a shared computer at a sampling site, a caching proxy in a government network).
Static files (versioned, public) keep WhiteNoise's own caching."""

from __future__ import annotations

import time

from django.conf import settings
from django.utils.cache import add_never_cache_headers

TOUCHED = "_lianfang_touched"


class NoStoreMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.static = settings.STATIC_URL

    def __call__(self, request):
        response = self.get_response(request)
        if not request.path.startswith(self.static):
            add_never_cache_headers(response)  # no-cache, no-store, must-revalidate, private
        return response


class SessionIdleMiddleware:
    """The idle timeout (``SESSION_IDLE_MINUTES``): a session is saved again, moving its expiry
    ``SESSION_COOKIE_AGE`` ahead, at most once a minute while its user is active. Django's
    ``SESSION_SAVE_EVERY_REQUEST`` would do the same with a database write on every page."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        session = getattr(request, "session", None)
        if session is not None and not session.is_empty():
            minute = int(time.time() // 60)
            if session.get(TOUCHED) != minute:
                session[TOUCHED] = minute  # marks it modified: SessionMiddleware saves it
        return response
