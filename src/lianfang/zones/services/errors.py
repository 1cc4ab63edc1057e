"""What the zone services refuse, in Chinese and English (the edges translate it)."""

from __future__ import annotations

from lianfang.core.errors import Refused


class ZoneError(Refused):
    pass


def not_found() -> ZoneError:
    """ "Not there" and "not yours" are the same answer."""
    return ZoneError("not_found", "区域不存在", "no such zone")
