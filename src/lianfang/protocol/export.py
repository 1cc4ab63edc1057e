"""A protocol as plain JSON-ready data, for the protocol page, the API and audit records."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import fields, is_dataclass
from typing import Any

from .model import Protocol


def plain(value: Any) -> Any:
    """Dataclasses and mappings → dicts, tuples → lists, dates → ISO text; the rest unchanged."""
    if is_dataclass(value) and not isinstance(value, type):
        # Before the mapping case: ContactRules is both, and its fields keep ``strictness``.
        return {f.name: plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, Mapping):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, tuple | list):
        return [plain(item) for item in value]
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def as_dict(protocol: Protocol) -> dict[str, Any]:
    """Every value of ``protocol``, plus ``zone_regime`` and ``verify_paths``."""
    data = plain(protocol)
    data["zone_regime"] = protocol.zone_regime
    data["verify_paths"] = list(protocol.verify_paths())
    return data
