"""Load shedding: the request beyond the process's slots gets a quick 503 with Retry-After."""

from __future__ import annotations

import threading
import time

from django.http import HttpResponse
from django.test import RequestFactory, override_settings

from lianfang.config.load import LoadShedMiddleware


@override_settings(
    LIANFANG_ACTIVE_REQUESTS=2, LIANFANG_QUEUE_WAIT_MS=100, LIANFANG_RETRY_AFTER_S=3, LIANFANG_MAX_WAITING=1
)
def test_overload_is_answered_503_with_retry_after_and_slots_come_back():
    release = threading.Event()
    started = threading.Semaphore(0)

    def slow_view(request):
        started.release()
        release.wait(5)
        return HttpResponse("ok")

    middleware = LoadShedMiddleware(slow_view)
    factory = RequestFactory()
    results: list[int] = []
    busy = [
        threading.Thread(target=lambda: results.append(middleware(factory.get("/api/v1/me")).status_code))
        for _ in range(2)
    ]
    for t in busy:
        t.start()
    started.acquire(timeout=5)
    started.acquire(timeout=5)
    began = time.perf_counter()
    shed = middleware(factory.post("/api/v1/screening/scans"))
    waited = time.perf_counter() - began
    assert shed.status_code == 503
    assert 3 <= int(shed["Retry-After"]) <= 6  # the setting, plus jitter of up to as much again
    assert "busy" in shed.content.decode() and "繁忙" in shed.content.decode()
    assert shed["Content-Type"] == "application/json"
    assert 0.09 <= waited < 1.0
    page = middleware(factory.get("/rounds/"))
    assert page.status_code == 503 and page["Content-Type"].startswith("text/plain")
    release.set()
    for t in busy:
        t.join()
    assert results == [200, 200]
    # The slots are free again: the next request is served.
    assert LoadShedMiddleware(lambda r: HttpResponse("ok"))(factory.get("/")).status_code == 200
    assert middleware(factory.get("/")).status_code == 200


@override_settings(
    LIANFANG_ACTIVE_REQUESTS=1, LIANFANG_QUEUE_WAIT_MS=2000, LIANFANG_RETRY_AFTER_S=1, LIANFANG_MAX_WAITING=1
)
def test_beyond_the_waiting_room_the_answer_is_immediate():
    release = threading.Event()
    started = threading.Semaphore(0)

    def slow_view(request):
        started.release()
        release.wait(5)
        return HttpResponse("ok")

    middleware = LoadShedMiddleware(slow_view)
    factory = RequestFactory()
    out: list[int] = []
    holder = threading.Thread(target=lambda: out.append(middleware(factory.get("/")).status_code))
    holder.start()
    started.acquire(timeout=5)
    waiter = threading.Thread(target=lambda: out.append(middleware(factory.get("/")).status_code))
    waiter.start()
    deadline = time.monotonic() + 5
    while middleware.waiting < 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    began = time.perf_counter()
    shed = middleware(factory.get("/api/v1/me"))
    assert shed.status_code == 503 and time.perf_counter() - began < 0.05  # no 2 s wait
    release.set()
    holder.join()
    waiter.join()
    assert sorted(out) == [200, 200]  # the one in the waiting room got its turn
