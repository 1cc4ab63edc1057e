"""Normalising registry values the same way for every import path (file, web, API)."""

from __future__ import annotations

from functools import lru_cache

import phonenumbers
from pypinyin import Style, lazy_pinyin

from lianfang.people.models import IdType, Tag

ID_TYPE_ALIASES = {
    "": IdType.RESIDENT_ID,
    "resident_id": IdType.RESIDENT_ID,
    "居民身份证": IdType.RESIDENT_ID,
    "身份证": IdType.RESIDENT_ID,
    "passport": IdType.PASSPORT,
    "护照": IdType.PASSPORT,
    "hk_macao_permit": IdType.HK_MACAO_PERMIT,
    "港澳居民来往内地通行证": IdType.HK_MACAO_PERMIT,
    "港澳通行证": IdType.HK_MACAO_PERMIT,
    "taiwan_permit": IdType.TAIWAN_PERMIT,
    "台湾居民来往大陆通行证": IdType.TAIWAN_PERMIT,
    "台胞证": IdType.TAIWAN_PERMIT,
    "other": IdType.OTHER,
    "其他": IdType.OTHER,
}

TAG_ALIASES = {t.value: t.value for t in Tag} | {str(t.label): t.value for t in Tag}


def normalize_id_type(value: str) -> str | None:
    return ID_TYPE_ALIASES.get(value.strip().lower())


def normalize_tags(value: str) -> str:
    """'卧床; infant' → 'bedridden;infant' (known tags in a fixed order; others kept as written)."""
    parts = [p.strip() for p in value.replace("；", ";").replace(",", ";").split(";") if p.strip()]
    known = {TAG_ALIASES[p] for p in parts if p in TAG_ALIASES}
    unknown = sorted({p for p in parts if p not in TAG_ALIASES})
    return ";".join([t.value for t in Tag if t.value in known] + unknown)


def normalize_phone(value: str) -> str:
    """A mainland number as 11 digits (+86, spaces and dashes dropped); anything else as written."""
    value = value.strip()
    if not value or is_plain_mobile(value):  # the common case, without the parser's cost
        return value
    try:
        parsed = phonenumbers.parse(value, "CN")
    except phonenumbers.NumberParseException:
        return value
    if parsed.country_code == 86 and phonenumbers.is_valid_number(parsed):
        return str(parsed.national_number)
    return value


def is_plain_mobile(value: str) -> bool:
    return len(value) == 11 and value.isdigit() and value[0] == "1"


@lru_cache(maxsize=65_536)
def _char_pinyin(ch: str) -> str:
    syllables = lazy_pinyin(ch, style=Style.NORMAL, errors="default")
    return "".join(syllables).lower() if syllables else ""


@lru_cache(maxsize=200_000)
def name_pinyin(name: str) -> tuple[str, str]:
    """('zhangwei', 'zw') for 张伟; a Latin name keeps its letters, lower-cased ('john smith' → 'johnsmith', 'js').

    Character by character through a cache, so a million distinct names cost a dictionary lookup
    per character rather than a phrase analysis per name (names are not phrases).
    """
    full: list[str] = []
    initials: list[str] = []
    word = ""
    for ch in name:
        if ch.isascii():
            if ch.isalpha():
                word += ch.lower()
                continue
            if word:
                full.append(word)
                initials.append(word[0])
                word = ""
            continue
        if word:
            full.append(word)
            initials.append(word[0])
            word = ""
        syllable = _char_pinyin(ch)
        if syllable.isascii() and syllable.isalpha():
            full.append(syllable)
            initials.append(syllable[0])
    if word:
        full.append(word)
        initials.append(word[0])
    return "".join(full)[:200], "".join(initials)[:64]
