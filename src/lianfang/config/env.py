"""One helper for every LIANFANG_* setting: typed, with defaults, strict in production."""

from __future__ import annotations

import os

from django.core.exceptions import ImproperlyConfigured

PREFIX = "LIANFANG_"
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env(name: str, default=None, *, cast=str, required: bool = False):
    """Read ``LIANFANG_<name>``; raise ImproperlyConfigured when required and missing."""
    raw = os.environ.get(PREFIX + name)
    if raw is None or raw == "":
        if required:
            raise ImproperlyConfigured(
                f"{PREFIX}{name} must be set in production / 生产模式必须设置 {PREFIX}{name}"
            )
        return default
    if cast is bool:
        value = raw.strip().lower()
        if value in _TRUE:
            return True
        if value in _FALSE:
            return False
        raise ImproperlyConfigured(f"{PREFIX}{name}={raw!r} is not a boolean / 不是布尔值")
    if cast is list:
        return [part.strip() for part in raw.split(",") if part.strip()]
    try:
        return cast(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{PREFIX}{name}={raw!r}: {exc}") from exc
