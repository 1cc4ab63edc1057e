"""What the imports app adds besides the import pipeline itself: the database's housekeeping, run by
the background workers' scheduler (imports/schedule.py) like every app's timed jobs."""

from lianfang.core.plugins import Periodic, Plugin

PLUGIN = Plugin(
    app="imports",
    periodic=(
        Periodic(
            name="db.statistics",
            run="lianfang.core.db.stale_statistics_refresh",
            every_seconds=300,
            help="refresh the planner's statistics of tables that changed much since their last analysis",
        ),
    ),
)
