"""Masking of personal data, one rule used by pages, exports, the API and drop-downs."""

from __future__ import annotations


def mask_id_number(value: str | None) -> str:
    """350502199001011234 → 350502********1234 (first 6, last 4 kept)."""
    if not value:
        return ""
    if len(value) <= 10:
        return value[:2] + "*" * max(len(value) - 4, 1) + value[-2:]
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


def mask_phone(value: str | None) -> str:
    """13812345678 → 138****5678."""
    if not value:
        return ""
    if len(value) < 7:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def mask_address(value: str | None) -> str:
    """Keep the compound, hide building, unit and room: 金山花园3栋2单元501 → 金山花园****."""
    if not value:
        return ""
    cut = next((i for i, ch in enumerate(value) if ch.isdigit()), len(value))
    return value[:cut] + "****"
