"""The custody section of the person page: their transfers and stays (the page scoped the person)."""

from __future__ import annotations

from lianfang.custody import selectors


def person_custody(*, person, actor) -> dict | None:
    transfers, stays = selectors.person_transfers(person), selectors.person_stays(person)
    if not transfers and not stays:
        return None
    return {"transfers": transfers, "stays": stays}
