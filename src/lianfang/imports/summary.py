"""The import summary every import returns: read = accepted + duplicate + held + rejected."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

# Bilingual explanations of every rejection reason, for the web page and the rejects file.
REASON_TEXT = {
    "missing_field": ("缺少必填字段", "a required field is empty"),
    "bad_id_type": ("证件类型无法识别", "unknown ID type"),
    "invalid_id_number": (
        "证件号码无效（身份证须18位、出生日期真实且不晚于今天、校验位正确）",
        "invalid ID number (a resident ID needs 18 characters, a real past birth date and the right check digit)",
    ),
    "unknown_community": (
        "社区村代码不存在（或不在您的辖区内）",
        "unknown community code (or not in your jurisdiction)",
    ),
    "out_of_jurisdiction": (
        "该人员登记在您的辖区之外",
        "this person is registered outside your jurisdiction",
    ),
    "bad_code": ("区划代码须为2/4/6/9/12位数字", "a division code has 2, 4, 6, 9 or 12 digits"),
    "unknown_parent": ("上级区划不存在", "the parent division is unknown"),
}


def reason_text(reason: str) -> tuple[str, str]:
    """(Chinese, English) text for a reason such as ``missing_field:name``."""
    base, _, column = reason.partition(":")
    zh, en = REASON_TEXT.get(base, (reason, reason))
    if column:
        return f"{zh}：{column}", f"{en}: {column}"
    return zh, en


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
