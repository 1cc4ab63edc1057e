"""Rate limits of the API: a fixed window per key, counted in the cache.

Every token has a budget of requests a minute (``API_RATE_PER_MINUTE``), and person searches and
look-ups a smaller one per user (``API_SEARCH_PER_MINUTE``): a harvested token cannot page through
the registry. The cache is per server process (LocMemCache) unless a shared one is configured, so
with N processes the effective budget is at most N times the setting (docs/security.md).
"""

from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import cache

from lianfang.core.errors import Refused

WINDOW_S = 60


class RateLimited(Refused):
    status = 429

    def __init__(self, retry_after: int):
        self.retry_after = retry_after
        super().__init__(
            "rate_limited",
            f"请求过于频繁，请 {retry_after} 秒后再试",
            f"too many requests, retry in {retry_after} s",
        )


def spend(kind: str, key: str, budget: int) -> None:
    """Count one request of ``kind`` for ``key``; raise :class:`RateLimited` past ``budget`` a minute."""
    if budget <= 0:
        return
    now = time.time()
    window = int(now // WINDOW_S)
    name = f"lianfang:rl:{kind}:{key}:{window}"
    if cache.add(name, 1, WINDOW_S + 1):
        return
    try:
        count = cache.incr(name)
    except ValueError:  # expired between add and incr
        cache.add(name, 1, WINDOW_S + 1)
        return
    if count > budget:
        raise RateLimited(retry_after=max(1, int(WINDOW_S - now % WINDOW_S)))


def spend_token(token_id: int) -> None:
    spend("token", str(token_id), settings.API_RATE_PER_MINUTE)


def spend_search(user_id: int) -> None:
    spend("search", str(user_id), settings.API_SEARCH_PER_MINUTE)
