"""Masking of personal data, one rule used by pages, exports, the API, drop-downs and the audit log.

PIPL counts ID numbers, health data and whereabouts as sensitive personal information: a role that
does not need them sees a masked form that still lets a person be told apart from a neighbour.
"""

from __future__ import annotations

import re

# Where the part of an address that finds a door begins: a digit of any script, a Chinese numeral,
# or a building/unit/room word (金山花园三栋二单元501, 金山花园A座, 金山花园甲区).
_DOOR = re.compile(
    r"[0-9０-９〇零一二三四五六七八九十百千两壹贰叁肆伍陆柒捌玖拾甲乙丙丁A-Za-zＡ-Ｚａ-ｚ栋幢座楼单元室号户层]"
)


def mask_id_number(value: str | None) -> str:
    """350502199001011234 → 350502********1234 (first 6, last 4 kept); a short number (passport,
    permit) keeps at most a third of its characters: E12345678 → E******78."""
    if not value:
        return ""
    if len(value) <= 10:
        if len(value) < 6:
            return "*" * len(value)
        return value[:1] + "*" * (len(value) - 3) + value[-2:]
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


def mask_phone(value: str | None) -> str:
    """13812345678 → 138****5678."""
    if not value:
        return ""
    if len(value) < 7:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def mask_address(value: str | None) -> str:
    """Keep the compound, hide building, unit and room: 金山花园3栋2单元501 → 金山花园****, and
    金山花园三栋二单元 the same. Whatever the address, at most its first half is shown."""
    if not value:
        return ""
    found = _DOOR.search(value)
    cut = min(found.start() if found else len(value), len(value) // 2)
    return value[:cut] + "****"


def mask_name(value: str | None) -> str:
    """张伟 → 张*, 欧阳娜娜 → 欧***: the surname only (a name typed into a search, in the audit log)."""
    if not value:
        return ""
    return value[:1] + "*" * (len(value) - 1)


def mask_query(q: str, kind: str) -> str:
    """A search term as the audit log keeps it, masked like the data it names: an ID number or a
    long run of digits (a phone) as such; a name to its surname; pinyin initials and a few last
    digits (which name nobody alone) as typed."""
    if kind in ("id", "digits") and len(q) > 8:
        return mask_phone(q) if len(q) == 11 else mask_id_number(q)
    if kind == "name":
        return mask_name(q)
    return q
