"""Contact categories and what each edition does with them (DOMAIN.md §4, FORMATS.md "Tracing").

A ``ContactMeasure`` is one row of the ``lianfang trace plans`` table: the measure, its length
counted from the last exposure, the extra monitoring days after it, and the test days (day k is
the Asia/Shanghai date of the last exposure + k). ``ContactRules`` maps each category to its
measure and carries the strictness order used when a person is listed more than once.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

from ._frozen import FrozenMap, check_verify

CATEGORIES = ("close", "secondary", "companion", "venue", "general")
"""Strictest first: FORMATS.md merges a person listed twice into the strictest category."""

CATEGORY_LABELS = FrozenMap(
    {
        "close": ("密接", "close contact"),
        "secondary": ("次密接", "contact of a close contact"),
        "companion": ("时空伴随者", "spatio-temporal companion"),
        "venue": ("场所暴露者", "venue exposure"),
        "general": ("一般接触者", "general contact"),
    }
)

MEASURES = ("central_quarantine", "home_quarantine", "test_monitoring", "health_monitoring")

MEASURE_LABELS = FrozenMap(
    {
        "central_quarantine": ("集中隔离医学观察", "central quarantine"),
        "home_quarantine": ("居家隔离医学观察", "home quarantine"),
        "test_monitoring": ("核酸检测监测", "test monitoring"),
        "health_monitoring": ("健康监测", "health monitoring"),
    }
)


def unknown_category(category: object) -> ValueError:
    return ValueError(
        f"未知的接触者类别 / unknown contact category: {category} (known: {', '.join(CATEGORIES)})"
    )


@dataclass(frozen=True, slots=True)
class ContactMeasure:
    """What a plan of one category is: ``ends_at`` = last exposure + ``days``;
    ``monitoring_ends_at`` = ``ends_at`` + ``monitoring_days``; tests on days ``test_days``."""

    measure: str
    days: int
    monitoring_days: int
    test_days: tuple[int, ...]
    verify: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "test_days", tuple(self.test_days))
        object.__setattr__(self, "verify", tuple(self.verify))
        if self.measure not in MEASURES:
            raise ValueError(f"未知的管控措施 / unknown measure: {self.measure}")
        if self.days <= 0 or self.monitoring_days < 0:
            raise ValueError("管控天数必须为正 / days must be positive and monitoring_days not negative")
        if list(self.test_days) != sorted(set(self.test_days)) or any(k < 0 for k in self.test_days):
            raise ValueError(f"检测日必须递增且非负 / test days must ascend, not negative: {self.test_days}")
        if self.test_days and self.test_days[-1] > self.days + self.monitoring_days:
            raise ValueError(f"检测日超出管控期 / a test day lies after the plan's end: {self.test_days}")
        check_verify(self)

    @property
    def total_days(self) -> int:
        """Days from the last exposure to the end of monitoring."""
        return self.days + self.monitoring_days


@dataclass(frozen=True, slots=True)
class ContactRules(Mapping[str, ContactMeasure]):
    """Category → ``ContactMeasure`` (a read-only mapping) plus the ``strictness`` order."""

    measures: Mapping[str, ContactMeasure]
    strictness: tuple[str, ...] = CATEGORIES

    def __post_init__(self) -> None:
        object.__setattr__(self, "measures", FrozenMap(self.measures))
        object.__setattr__(self, "strictness", tuple(self.strictness))
        if set(self.strictness) != set(self.measures) or len(self.strictness) != len(self.measures):
            raise ValueError("strictness 必须恰好列出每个类别一次 / must list every category exactly once")

    def __getitem__(self, category: str) -> ContactMeasure:
        return self.measures[category]

    def __iter__(self) -> Iterator[str]:
        return iter(self.strictness)

    def __len__(self) -> int:
        return len(self.measures)

    def measure(self, category: str) -> ContactMeasure:
        """The measure of ``category``; a bilingual ``ValueError`` for an unknown one."""
        try:
            return self.measures[category]
        except (KeyError, TypeError):
            raise unknown_category(category) from None

    def rank(self, category: str) -> int:
        """0 for the strictest category; larger is milder."""
        self.measure(category)
        return self.strictness.index(category)

    def strictest(self, categories: Iterable[str]) -> str:
        """The strictest of ``categories`` (FORMATS.md: close > secondary > companion > venue > general)."""
        listed = list(categories)
        if not listed:
            raise ValueError("没有类别 / no category given")
        return min(listed, key=self.rank)
