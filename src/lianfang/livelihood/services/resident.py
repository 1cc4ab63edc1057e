"""The resident page's one-time codes: a phone number of the building's community gets a code
(sent by the SMS gateway), the code opens the page for a while. Rate-limited per phone, per
address and per page, and a wrong code counts against the code: guessing or flooding is refused."""

from __future__ import annotations

import datetime as dt
import secrets

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.db import transaction
from django.utils import timezone

from lianfang.accounts.ratelimit import spend
from lianfang.livelihood import sms
from lianfang.livelihood.models import ResidentCode
from lianfang.livelihood.services.requests import LivelihoodError

# Defaults of the resident page's limits; a deployment overrides them in settings
# (``LIVELIHOOD_RESIDENT_LIMITS``). Security limits, not rules of the response: not in the protocol.
DEFAULT_LIMITS = {
    "code_seconds": 600,  # a code lives 10 minutes
    "tries_per_code": 5,  # wrong codes before it is dead
    "sends_per_phone_minute": 1,
    "sends_per_ip_minute": 5,
    "sends_per_page_minute": 30,  # one building's or community's page, all phones together
    "checks_per_ip_minute": 10,
    "files_per_phone_minute": 3,
}


def _limits() -> dict:
    return {**DEFAULT_LIMITS, **getattr(settings, "LIVELIHOOD_RESIDENT_LIMITS", {})}


def code_send(*, community_code: str, phone: str, ip: str | None) -> None:
    """Send a one-time code to ``phone`` for the community's page. The answer is the same whether
    or not the phone is known (nothing to enumerate); the limits refuse floods (RateLimited)."""
    phone = (phone or "").strip()
    if not (phone.isdigit() and len(phone) == 11):
        raise LivelihoodError("bad_phone", "手机号须为11位数字", "the phone number must be 11 digits")
    limits = _limits()
    spend("lv-send-ip", ip or "-", limits["sends_per_ip_minute"])
    spend("lv-send-page", community_code, limits["sends_per_page_minute"])
    spend("lv-send-phone", phone, limits["sends_per_phone_minute"])
    now = timezone.now()
    code = f"{secrets.randbelow(10**6):06d}"
    ResidentCode.objects.create(
        phone=phone,
        community_id=community_code,
        code_hash=make_password(code),
        created_at=now,
        expires_at=now + dt.timedelta(seconds=limits["code_seconds"]),
    )
    sms.send(phone, f"【联防】您的验证码是 {code}，{limits['code_seconds'] // 60} 分钟内有效。")


@transaction.atomic
def code_check(*, community_code: str, phone: str, code: str, ip: str | None) -> bool:
    """True when ``code`` is the latest live code of ``phone`` for the community (then used up).
    Each code takes a few tries; the address a few checks a minute."""
    spend("lv-check-ip", ip or "-", _limits()["checks_per_ip_minute"])
    now = timezone.now()
    latest = (
        ResidentCode.objects.select_for_update()
        .filter(
            phone=(phone or "").strip(), community_id=community_code, used_at__isnull=True, expires_at__gt=now
        )
        .order_by("-created_at")
        .first()
    )
    if latest is None or latest.attempts >= _limits()["tries_per_code"]:
        return False
    if check_password((code or "").strip(), latest.code_hash):
        latest.used_at = now
        latest.save(update_fields=["used_at"])
        return True
    latest.attempts += 1
    latest.save(update_fields=["attempts"])
    return False
