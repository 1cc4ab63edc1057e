"""Text messages to residents (one-time codes). The deployment's SMS gateway is a setting
(``LIVELIHOOD_SMS_BACKEND``: "log" writes the message to the log — a closed network without a
gateway; "outbox" keeps them in :data:`outbox`, for tests and the demo)."""

from __future__ import annotations

import logging

from django.conf import settings

log = logging.getLogger(__name__)
outbox: list[tuple[str, str]] = []


def send(phone: str, text: str) -> None:
    backend = getattr(settings, "LIVELIHOOD_SMS_BACKEND", "log")
    if backend == "outbox":
        outbox.append((phone, text))
    else:
        log.info("SMS to %s****%s: %s", phone[:3], phone[-4:], text)
