"""Per-community counts of the registry, recomputed in one pass (never counted per page view)."""

from __future__ import annotations

from django.db import connection, transaction
from django.utils import timezone

from lianfang.people.models import CommunityStats, Person


@transaction.atomic
def stats_refresh() -> int:
    """Recompute every community's counts from the registry in one GROUP BY."""
    person = Person._meta.db_table
    stats = CommunityStats._meta.db_table
    tag_sums = ", ".join(
        f"SUM(CASE WHEN registered AND tags LIKE '%%{t}%%' THEN 1 ELSE 0 END)"
        for t in CommunityStats.TAG_FIELDS
    )
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {stats}")
        cursor.execute(
            f"INSERT INTO {stats} (community_id, registered, unregistered, households, "
            f"{', '.join(CommunityStats.TAG_FIELDS)}, refreshed_at) "
            f"SELECT community_id, SUM(CASE WHEN registered THEN 1 ELSE 0 END), "
            f"SUM(CASE WHEN registered THEN 0 ELSE 1 END), "
            f"COUNT(DISTINCT CASE WHEN household <> '' THEN household END), {tag_sums}, %s "
            f"FROM {person} WHERE community_id IS NOT NULL GROUP BY community_id",
            [now],
        )
        return cursor.rowcount
