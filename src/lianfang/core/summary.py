"""The import summary every import returns: read = accepted + duplicate + held + rejected."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

# Bilingual explanations of every rejection reason, for pages, the API, the CLI and rejects
# files. The general ones of the data contract live here; each app registers its own
# (:func:`register_reasons`, from its plugin) so that no reason is ever shown as a bare code.
_REASONS: dict[str, tuple[str, str]] = {}
_OWNER: dict[str, str] = {}


class ReasonConflict(ValueError):
    """Two apps registered the same reason code with different texts."""


def register_reasons(owner: str, reasons: dict[str, tuple[str, str]]) -> None:
    """Register ``{code: (Chinese, English)}`` for ``owner`` (an app label); idempotent."""
    for code, text in reasons.items():
        zh, en = text
        if not (code and zh and en):
            raise ReasonConflict(f"reason {code!r} of {owner} needs a code, Chinese and English text")
        known = _REASONS.get(code)
        if known is not None and known != (zh, en):
            raise ReasonConflict(f"reason {code!r} of {owner} is already registered by {_OWNER[code]}")
        _REASONS[code], _OWNER[code] = (zh, en), _OWNER.get(code, owner)


def forget_reasons(owner: str) -> None:
    """Drop the reasons ``owner`` registered (an app uninstalled, in tests)."""
    for code in [c for c, o in _OWNER.items() if o == owner]:
        del _REASONS[code], _OWNER[code]
    for code in [c for c, o in _FIX_OWNER.items() if o == owner]:
        del _FIXES[code], _FIX_OWNER[code]


# What to change in the file for each reason (issue 11, item 5): shown beside the reason on the
# job page and the upload page, so that nobody needs the manual to correct a rejected row.
_FIXES: dict[str, tuple[str, str]] = {}
_FIX_OWNER: dict[str, str] = {}


def register_fixes(owner: str, fixes: dict[str, tuple[str, str]]) -> None:
    """Register ``{code: (Chinese, English)}``: how to correct a row rejected for ``code``."""
    for code, (zh, en) in fixes.items():
        if not (code and zh and en):
            raise ReasonConflict(f"fix of {code!r} from {owner} needs Chinese and English text")
        _FIXES[code], _FIX_OWNER[code] = (zh, en), _FIX_OWNER.get(code, owner)


def reason_fix(reason: str) -> tuple[str, str] | None:
    """(Chinese, English) of what to change for ``reason`` (``missing_field:name`` included), or None."""
    _discover()
    return _FIXES.get(reason.partition(":")[0])


def registered_reasons() -> dict[str, tuple[str, str]]:
    _discover()
    return dict(_REASONS)


def reason_text(reason: str) -> tuple[str, str]:
    """(Chinese, English) text for a reason such as ``missing_field:name``.

    An unregistered reason comes back as its code in both languages (and is a defect: the
    registry test lists every reason an importer can give)."""
    _discover()
    base, _, column = reason.partition(":")
    zh, en = _REASONS.get(base, (reason, reason))
    if column:
        return f"{zh}：{column}", f"{en}: {column}"
    return zh, en


def _discover() -> None:
    """Let every installed app register its reasons (a no-op without Django's app registry)."""
    from lianfang.core import plugins

    plugins.discover()


register_reasons(
    "core",
    {
        "missing_field": ("缺少必填字段", "a required field is empty"),
        "extra_cells": (
            "该行的单元格多于表头（可能是未加引号的逗号），整行未导入",
            "the row has more cells than the header (an unquoted comma?); nothing of it is stored",
        ),
        "bad_time": (
            "时间无效（须为 ISO 8601 或 YYYY-MM-DD HH:MM[:SS]，仅日期不算时间）",
            "not a time (ISO 8601 or YYYY-MM-DD HH:MM[:SS]; a date alone is not a time)",
        ),
        # lianfang.core.fields: a cell's rule from the model field it is stored in (any import)
        "too_long": ("内容超过该列允许的长度", "the value is longer than the column allows"),
        "bad_characters": (
            "含有不允许的控制字符（如 NUL）",
            "the value holds control characters that are not allowed (such as NUL)",
        ),
        "out_of_jurisdiction": (
            "该人员登记在您的辖区之外",
            "this person is registered outside your jurisdiction",
        ),
    },
)


register_fixes(
    "core",
    {
        "missing_field": ("在这一列填上内容：它是必填列", "fill in this column: it is required"),
        "extra_cells": (
            "内容里有英文逗号时，用英文双引号把整格括起来；或改存为 XLSX 上传",
            "put a cell holding a comma in double quotes, or save the file as XLSX",
        ),
        "bad_time": (
            "按“2022-03-26 08:30”的样式填写日期和时间（北京时间）",
            "write the date and time as 2022-03-26 08:30 (Beijing time)",
        ),
        "too_long": (
            "缩短这一格的内容（长度上限见上传页的列说明）",
            "shorten the cell (the upload page lists each column's limit)",
        ),
        "bad_characters": (
            "重新输入这一格：其中有看不见的控制字符（常见于从其他系统复制的内容）",
            "type the cell again: it holds invisible control characters (often copied from another system)",
        ),
        "out_of_jurisdiction": (
            "删除这一行：该人员归其他辖区管理，请由其所在辖区导入",
            "remove the row: the person belongs to another jurisdiction, which imports them",
        ),
    },
)


@dataclass
class ImportSummary:
    read: int = 0
    accepted: int = 0
    duplicate: int = 0
    held: int = 0
    rejected: int = 0
    reasons: Counter = field(default_factory=Counter)
    created: int = 0
    updated: int = 0
    # Figures of what an import did beside its rows (``residents_placed``: people given a
    # building from their address after it): not row outcomes, not in FORMATS' summary object.
    notes: dict[str, int] = field(default_factory=dict)

    def reject(self, reason: str, count: int = 1) -> None:
        self.rejected += count
        self.reasons[reason] += count

    @property
    def balanced(self) -> bool:
        return (
            self.read == self.accepted + self.duplicate + self.held + self.rejected
            and self.rejected == sum(self.reasons.values())
        )

    def as_dict(self) -> dict:
        """The JSON summary of FORMATS.md (reasons sorted for stable output)."""
        return {
            "read": self.read,
            "accepted": self.accepted,
            "duplicate": self.duplicate,
            "held": self.held,
            "rejected": self.rejected,
            "reasons": dict(sorted(self.reasons.items())),
        }
