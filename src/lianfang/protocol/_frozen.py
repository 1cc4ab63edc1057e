"""Immutable building blocks shared by the protocol sections.

``FrozenMap`` is a read-only, hashable mapping, so a whole ``Protocol`` is hashable (usable as a
cache key) and nothing in an edition can be changed in place. ``check_verify`` keeps each
section's ``verify`` list honest: it may only name fields the section has.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import fields
from typing import Any, Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class FrozenMap(Mapping[K, V], Generic[K, V]):
    """A read-only mapping that keeps insertion order and hashes by its items."""

    __slots__ = ("_data", "_hash")

    def __init__(self, data: Mapping[K, V] | Iterable[tuple[K, V]] = (), /) -> None:
        object.__setattr__(self, "_data", dict(data))
        object.__setattr__(self, "_hash", None)

    def __getitem__(self, key: K) -> V:
        return self._data[key]

    def __iter__(self) -> Iterator[K]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __hash__(self) -> int:
        if self._hash is None:
            object.__setattr__(self, "_hash", hash(frozenset(self._data.items())))
        return self._hash

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"FrozenMap is read-only / 只读: cannot set {name}")

    def __reduce__(self):
        return (type(self), (self._data,))

    def __repr__(self) -> str:
        return f"FrozenMap({self._data!r})"


def check_verify(section: Any) -> None:
    """Refuse a ``verify`` entry that is not a field of ``section`` (a typo would hide a flag)."""
    names = {f.name for f in fields(section)} - {"verify"}
    unknown = [name for name in section.verify if name not in names]
    if unknown:
        raise ValueError(
            f"verify 列出了不存在的字段 / verify names unknown fields of {type(section).__name__}: "
            + ", ".join(unknown)
        )
