"""Load shedding: under overload, answer 503 with Retry-After at once instead of timing out.

Every site opening at 7:00 sends its first scans in the same second (the surge that stalled
Xi'an's and Chengdu's systems in 2022). Each server process runs at most ``ACTIVE_REQUESTS``
requests at a time (the CPU-bound part of Django is one core's work anyway); at most
``MAX_WAITING`` more wait for a slot, for at most ``QUEUE_WAIT_MS``; every other request is told
at once to come back after ``RETRY_AFTER_S`` seconds, so a surge drains in 503s of a millisecond
each instead of queueing into timeouts.
A device then retries its buffer — the API is idempotent, so nothing is lost or doubled.

With gunicorn's thread workers (``lianfang serve`` uses them) the extra threads are what accept
the surge and answer 503 quickly; with one thread per process the slot is always free and this
middleware does nothing.
"""

from __future__ import annotations

import json
import logging
import random
import threading

from django.conf import settings
from django.http import HttpResponse

from lianfang.core.db import DAMAGED, FULL, error_name, unavailable

log = logging.getLogger(__name__)

MESSAGE_ZH = "系统繁忙，请稍后重试"
MESSAGE_EN = "the server is busy, retry shortly"


class LoadShedMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.slots = threading.BoundedSemaphore(settings.LIANFANG_ACTIVE_REQUESTS)
        self.wait = settings.LIANFANG_QUEUE_WAIT_MS / 1000
        self.max_waiting = settings.LIANFANG_MAX_WAITING
        self.lock = threading.Lock()
        self.waiting = 0

    def _enter(self) -> bool:
        if self.slots.acquire(blocking=False):
            return True
        with self.lock:
            if self.waiting >= self.max_waiting:
                return False
            self.waiting += 1
        try:
            return self.slots.acquire(timeout=self.wait)
        finally:
            with self.lock:
                self.waiting -= 1

    def __call__(self, request):
        if not self._enter():
            log.warning("load shed: %s %s answered 503", request.method, request.path)
            return self._busy(request)
        try:
            return self.get_response(request)
        finally:
            self.slots.release()

    def _busy(self, request) -> HttpResponse:
        if request.path.startswith("/api/"):
            body = json.dumps({"detail": f"{MESSAGE_ZH} / {MESSAGE_EN}"}, ensure_ascii=False)
            response = HttpResponse(body, status=503, content_type="application/json")
        else:
            response = HttpResponse(
                f"{MESSAGE_ZH} / {MESSAGE_EN}", status=503, content_type="text/plain; charset=utf-8"
            )
        response["Retry-After"] = retry_after()
        return response


# What a request that met an unavailable database is told, by the kind of trouble.
_UNAVAILABLE_TEXT = {
    "busy": ("数据库繁忙，请稍后重试", "the database is busy, retry shortly"),
    "down": ("数据库暂时不可用，请稍后重试", "the database is unavailable, retry shortly"),
    FULL: ("数据库磁盘已满，请联系运维", "the database disk is full; call the operator"),
    DAMAGED: ("数据库读写出错，请联系运维", "the database reported an I/O error; call the operator"),
}


def retry_after(base: int | None = None) -> str:
    """Seconds to wait, with jitter: devices told to come back in the same second come back in the
    same second, so each is told a time between ``base`` and twice it."""
    base = base or settings.LIANFANG_RETRY_AFTER_S
    return str(base + random.randint(0, base))


class DatabaseUnavailableMiddleware:
    """A request that met a busy, unreachable, full or damaged database answers 503 with
    Retry-After, in the API's JSON or as text, instead of a 500 — and nothing is retried here: the
    client's retry is the one retry, and the API's writes are idempotent. A damaged file (SQLite's
    "disk I/O error") or a full disk is logged at ERROR: it needs an operator, not patience."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exc):
        kind = unavailable(exc)
        if kind is None:
            return None
        if kind in (DAMAGED, FULL):
            # With the traceback and the driver's code: the one place an operator learns which
            # statement met the damaged or full file. The request is not tried again.
            log.error(
                "database %s (%s) on %s %s: %s",
                kind,
                error_name(exc) or "no code",
                request.method,
                request.path,
                exc,
                exc_info=exc,
            )
        else:
            log.warning("database %s on %s %s: %s", kind, request.method, request.path, exc)
        zh, en = _UNAVAILABLE_TEXT[kind]
        if request.path.startswith("/api/"):
            body = json.dumps({"detail": f"{zh} / {en}"}, ensure_ascii=False)
            response = HttpResponse(body, status=503, content_type="application/json")
        else:
            response = HttpResponse(f"{zh} / {en}", status=503, content_type="text/plain; charset=utf-8")
        response["Retry-After"] = retry_after()
        return response
