"""The common Chinese surnames, most frequent first (the national household registration's top
hundred, then a few common in southern Fujian: 洪 庄 施 柯 涂), and the characters a pinyin
query names as a surname: ``li`` → 李, 黎 … so that a search for ``li`` lists 李 before 凌 and 刘.

Readings are taken character by character as the registry's ``name_pinyin`` is (heteronyms by
their common reading), so a surname reached this way is reached by the full pinyin too.
"""

from __future__ import annotations

from functools import cache

COMMON = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
    "姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
    "洪庄施柯涂"
)


@cache
def by_reading() -> dict[str, tuple[str, ...]]:
    from lianfang.people.normalize import name_pinyin

    out: dict[str, list[str]] = {}
    for ch in COMMON:
        out.setdefault(name_pinyin(ch)[0], []).append(ch)
    return {reading: tuple(chars) for reading, chars in out.items()}


def surnames_read_as(query: str) -> tuple[str, ...]:
    """The common surnames whose pinyin is exactly ``query`` (lower-case Latin), most frequent first."""
    return by_reading().get(query.lower(), ())
