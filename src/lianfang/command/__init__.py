"""The command layer (DOMAIN.md §1, §5): the daily briefing, the problem list, the big screen."""
