"""What a server process does with the objects it made while starting."""

from __future__ import annotations

import gc


def startup_freeze() -> None:
    """Load the URL configuration (and with it every view module), then move every object alive so
    far out of the garbage collector's reach (``gc.freeze``).

    A started worker holds some 300,000 objects that live as long as it does: modules, Django's
    apps and URL resolver, translations. Python's full collection walks all of them: at 10 M people
    one request in a few hundred took 141 ms more than its peers (a page of 30 ms answered in
    172 ms), which was every p95 over 150 ms in ``bench/pages.py``. Frozen, they are never walked
    again, and the pages' slowest request fell to 90 ms (docs/performance.md). Nothing frozen was
    garbage: the collection just before freezing takes that.
    """
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 — imports the URL modules and their views now
    gc.collect()
    gc.freeze()
